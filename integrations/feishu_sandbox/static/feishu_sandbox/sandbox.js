/* The sandbox's few behaviours: copy buttons, confirmations, menus that submit on change,
   and a conversation that refreshes itself so that cards the console sends appear. */
(function () {
  "use strict";

  var POLL_MS = 3000;

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a LAN address has no clipboard API: fall back to a selection.
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    document.body.removeChild(area);
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    copyText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var question = submitter && submitter.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches("select[data-autosubmit]") && select.form) {
      select.form.requestSubmit();
    }
  });

  function busy(box) {
    // Never swap the list under someone choosing from a menu.
    var active = document.activeElement;
    return (active && box.contains(active) && active.tagName === "SELECT") ||
      box.querySelector("details[open]") !== null;
  }

  function poll(box) {
    var url = box.getAttribute("data-poll-url");
    setInterval(function () {
      if (document.hidden || busy(box)) return;
      var shown = box.querySelector("[data-stamp]");
      // With the stamp it shows, the page gets 204 (nothing to render) until something changed.
      var since = shown ? "&since=" + encodeURIComponent(shown.getAttribute("data-stamp")) : "";
      fetch(url + since, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) { return response.status === 200 ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("[data-stamp]");
          var current = box.querySelector("[data-stamp]");
          if (!fresh || !current) return;
          if (fresh.getAttribute("data-stamp") === current.getAttribute("data-stamp")) return;
          var atBottom = window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
          box.replaceChild(fresh, current);
          if (atBottom) window.scrollTo(0, document.body.scrollHeight);
        })
        .catch(function () { /* the next tick tries again */ });
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("messages");
    if (box && box.getAttribute("data-poll-url")) poll(box);
  });
})();
