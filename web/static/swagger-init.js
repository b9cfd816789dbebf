// Starts the Swagger UI at /api/v1/docs (kept out of the page: the CSP forbids inline script).
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var extra = JSON.parse(container.dataset.config || "{}");
  Object.keys(extra).forEach(function (name) {
    config[name] = extra[name];
  });
  window.ui = SwaggerUIBundle(config);
})();
