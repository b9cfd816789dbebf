// The RMA page: destructive actions (Reject, Cancel this return) ask in a dialog before they
// are sent. Without JavaScript the server asks on a confirmation page instead
// (web/pages/rma_page.py), so the dialog only saves a step.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    var dialog = document.getElementById(form.getAttribute("data-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=confirmed]")) {
        return; // confirmed in the dialog: send it
      }
      event.preventDefault();
      dialog.showModal();
    });
    dialog.querySelector("[data-confirm-yes]").addEventListener("click", function () {
      var confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      confirmed.value = "yes";
      form.appendChild(confirmed);
      dialog.close();
      form.requestSubmit();
    });
    dialog.querySelector("[data-confirm-no]").addEventListener("click", function () {
      dialog.close();
    });
  });
})();
