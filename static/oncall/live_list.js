// Live refresh of the incident list: every few seconds (while the page is visible) fetch the
// same URL with the X-Live-Refresh header, which answers with the results alone, and swap them
// in when they changed. New incidents are announced to screen readers; keyboard focus on a
// link survives the swap. Without JavaScript the page still works: it just needs a reload.
// After each swap the results fire "live:refreshed" (detail.before: the numbers shown before),
// which new_incidents.js listens to; it sets data-watch-hidden on the results when someone
// wants notifications, so that the refresh goes on while the tab is in the background.
(function () {
  "use strict";
  var results = document.getElementById("incident-results");
  var status = document.getElementById("live-status");
  var script = document.currentScript;
  if (!results || !status || !window.fetch) {
    return;
  }
  var seconds = Math.max(1, parseInt(results.dataset.refreshSeconds, 10) || 10);
  var words = script ? script.dataset : {};
  // Null until the first answer: the server's fragment never equals the page's first
  // rendering character for character, so the first refresh always swaps once.
  var lastHtml = null;
  var busy = false;

  function numbers(root) {
    var found = {};
    root.querySelectorAll("[data-number]").forEach(function (row) {
      found[row.dataset.number] = row;
    });
    return found;
  }

  function focusedHref() {
    var active = document.activeElement;
    return active && results.contains(active) ? active.getAttribute("href") : null;
  }

  function restoreFocus(href) {
    if (!href) {
      return;
    }
    var links = results.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i += 1) {
      if (links[i].getAttribute("href") === href) {
        links[i].focus();
        return;
      }
    }
  }

  function announceNew(before) {
    var added = [];
    var after = numbers(results);
    Object.keys(after).forEach(function (number) {
      if (!before[number]) {
        var title = after[number].querySelector(".incident-row-title");
        added.push("#" + number + (title ? " " + title.textContent.trim() : ""));
      }
    });
    var time = new Date().toLocaleTimeString();
    status.textContent = added.length
      ? (words.newOne || "New incident:") + " " + added.join(", ")
      : (words.updated || "Updated at") + " " + time;
  }

  function refresh() {
    if (busy || (document.hidden && !results.dataset.watchHidden)) {
      return;
    }
    busy = true;
    fetch(window.location.href, {
      headers: { "X-Live-Refresh": "1" },
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== lastHtml) {
          var before = numbers(results);
          var href = focusedHref();
          results.innerHTML = html;
          lastHtml = html;
          restoreFocus(href);
          announceNew(before);
          results.dispatchEvent(new CustomEvent("live:refreshed", { detail: { before: before } }));
        }
      })
      .catch(function () {
        status.textContent = words.offline || "Live refresh is paused. Trying again…";
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
