// spareflow's page behaviour. The Content-Security-Policy forbids inline script, so pages
// declare what they need with data- attributes and this file (loaded with defer) wires it up.
(function () {
  "use strict";

  // <select data-autosubmit>: choosing an option sends the form (state filter, language).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });

  // <details data-menu>: the header's menu. Folded on a phone (tap "Menu"; a <details> opens
  // without script too), always open from 1100 px, where spareflow.css hides its summary.
  var menu = document.querySelector("details[data-menu]");
  if (menu && window.matchMedia) {
    var wide = window.matchMedia("(min-width: 1100px)");
    var fit = function () {
      menu.open = wide.matches;
    };
    fit();
    if (wide.addEventListener) {
      wide.addEventListener("change", fit);
    }
  }

  // <button data-print>: print the page (return sheets, pick lists, labels).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
  });

  // <fieldset data-address-layout>: a Chinese address is asked province / city / district /
  // street, any other street / city / state (web/static/spareflow.css orders the fields).
  document.querySelectorAll("fieldset[data-address-layout]").forEach(function (fieldset) {
    var country = fieldset.querySelector("select");
    country.addEventListener("change", function () {
      fieldset.setAttribute("data-address-layout", country.value === "CN" ? "cn" : "intl");
    });
  });

  // <form data-submit-on-load>: sent once the page is there (the e-mail preview's frame).
  document.querySelectorAll("form[data-submit-on-load]").forEach(function (form) {
    form.submit();
  });

  // <section data-suggest-url>: known faults for the part and the description, fetched as the
  // desk types (web/pages/knowledge.py answers an HTML fragment, escaped on the server).
  document.querySelectorAll("[data-suggest-url]").forEach(function (box) {
    var form = box.closest("form");
    var timer = null;
    var asked = "";
    function ask() {
      var sku = "";
      form.querySelectorAll("input[name$='-sku']").forEach(function (input) {
        if (!sku && input.value.trim()) { sku = input.value.trim(); }
      });
      var text = form.querySelector("textarea[name='description']");
      var query = "sku=" + encodeURIComponent(sku) +
        "&q=" + encodeURIComponent(text ? text.value.trim().slice(0, 500) : "");
      if (query === asked) { return; }
      asked = query;
      fetch(box.getAttribute("data-suggest-url") + "?" + query, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) { if (asked === query) { box.innerHTML = html; } });
    }
    form.addEventListener("input", function (event) {
      if (event.target.matches("input[name$='-sku'], textarea[name='description']")) {
        clearTimeout(timer);
        timer = setTimeout(ask, 300);
      }
    });
  });
})();
