// New incidents on the list: the rows that arrived since the person last looked are marked
// "New" until they have been seen, and, when the person asks for it, each incident that arrives
// while the tab is in the background is announced by a browser notification.
//
// "Since the person last looked" is remembered in this browser's localStorage, per person: the
// server's time of the last list of all open incidents whose marked rows were all seen
// (a filtered list or the closed tab could hide what arrived). It is a hint for the eyes,
// not a record, so it needs no table and no write on a GET; another browser keeps its own.
// All times are the server's (data-rendered-at on the results, data-created on each row), so a
// phone with a wrong clock marks the same rows. The notification choice is remembered the same
// way, next to the permission the browser keeps for the site.
(function () {
  "use strict";
  var results = document.getElementById("incident-results");
  var script = document.currentScript;
  if (!results || !script) {
    return;
  }
  var words = script.dataset;
  var viewer = results.dataset.viewer || "";
  var SEEN_KEY = "oncall.incidents.seenUntil." + viewer;
  var NOTIFY_KEY = "oncall.incidents.notify." + viewer;
  // A row committed just after a rendering may carry a creation time a little before it.
  var COMMIT_GRACE_MS = 30000;
  // How long a seen row's highlight takes to fade (pages.css, .incident-row.is-seen).
  var FADE_MS = 3000;

  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (error) {
      return null; // storage switched off: every visit is a first one
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (error) {
      // storage switched off or full: forget, as a first visit would
    }
  }

  function renderedAt() {
    var marker = results.querySelector("[data-rendered-at]");
    return marker ? Number(marker.dataset.renderedAt) : NaN;
  }

  function rows() {
    return Array.prototype.slice.call(results.querySelectorAll("[data-number][data-created]"));
  }

  // --- Marking new rows --------------------------------------------------------------------

  var previousVisit = Number(stored(SEEN_KEY)) || null;
  var loadedAt = renderedAt();
  var marked = {}; // number -> true: marked new on this page, until seen
  var seen = {}; // number -> true: its mark was seen, and stays off
  var onScreen = new Set();
  var observer =
    "IntersectionObserver" in window
      ? new IntersectionObserver(
          function (entries) {
            entries.forEach(function (entry) {
              if (entry.isIntersecting) {
                onScreen.add(entry.target);
              } else {
                onScreen.delete(entry.target);
              }
            });
          },
          { threshold: 0.5 }
        )
      : null;

  function arrivedLive(row, before) {
    return (
      before !== null &&
      !before[row.dataset.number] &&
      Number(row.dataset.created) > loadedAt - COMMIT_GRACE_MS
    );
  }

  function arrivedSinceLastVisit(row) {
    return previousVisit !== null && Number(row.dataset.created) > previousVisit;
  }

  function highlight(row) {
    row.classList.add("is-new");
    var meta = row.querySelector(".incident-row-meta");
    if (meta && !meta.querySelector(".badge-new")) {
      var badge = document.createElement("span");
      badge.className = "badge badge-new";
      badge.textContent = words.new || "New";
      meta.insertBefore(badge, meta.firstChild);
    }
    if (observer) {
      observer.observe(row);
    } else {
      onScreen.add(row);
    }
  }

  // Mark the rows that are new; return those that arrived by this refresh (not yet marked).
  function markRows(before) {
    var arrived = [];
    if (observer) {
      observer.disconnect();
    }
    onScreen.clear();
    rows().forEach(function (row) {
      var number = row.dataset.number;
      if (seen[number]) {
        return;
      }
      var live = arrivedLive(row, before);
      if (live && !marked[number]) {
        arrived.push(row);
      }
      if (marked[number] || live || arrivedSinceLastVisit(row)) {
        marked[number] = true;
        highlight(row);
      }
    });
    rememberIfAllSeen();
    return arrived;
  }

  // The list counts as looked at once no marked row is left unseen on a visible page that
  // shows every new incident (open, unfiltered, first page: the server says so).
  function rememberIfAllSeen() {
    var everythingNewShown = "showsEverythingNew" in results.dataset;
    if (document.hidden || !everythingNewShown || !isFinite(renderedAt())) {
      return;
    }
    if (!results.querySelector(".is-new:not(.is-seen)")) {
      store(SEEN_KEY, String(renderedAt()));
    }
  }

  // A row is seen when the person uses the page (taps, scrolls, types) while it is on screen:
  // a tab left open on a wall screen keeps its marks until someone comes to look.
  function seeWhatIsOnScreen() {
    if (document.hidden) {
      return;
    }
    var fading = [];
    onScreen.forEach(function (row) {
      if (row.classList.contains("is-new") && !row.classList.contains("is-seen")) {
        seen[row.dataset.number] = true;
        row.classList.add("is-seen");
        fading.push(row);
      }
    });
    if (!fading.length) {
      return;
    }
    rememberIfAllSeen();
    window.setTimeout(function () {
      fading.forEach(function (row) {
        row.classList.remove("is-new", "is-seen");
        var badge = row.querySelector(".badge-new");
        if (badge) {
          badge.remove();
        }
      });
    }, FADE_MS);
  }

  ["pointerdown", "keydown", "wheel", "touchstart", "scroll"].forEach(function (kind) {
    window.addEventListener(kind, seeWhatIsOnScreen, { passive: true });
  });

  // --- Browser notifications ---------------------------------------------------------------

  var button = document.getElementById("notify-button");
  var help = document.getElementById("notify-help");
  var askLabel = button ? button.textContent : "";
  // The explanation under the button shows in answer to a click only: the first screen stays
  // for the incidents. It describes the button for screen readers all along.
  var explain = false;
  var explanations = {
    on: words.on,
    blocked: words.blocked,
    unsupported: words.unsupported,
    insecure: words.insecure,
  };

  function notificationState() {
    if (!("Notification" in window)) {
      return "unsupported";
    }
    if (!window.isSecureContext) {
      return "insecure";
    }
    if (Notification.permission === "denied") {
      return "blocked";
    }
    return Notification.permission === "granted" && stored(NOTIFY_KEY) === "on" ? "on" : "off";
  }

  function notifying() {
    return notificationState() === "on";
  }

  function showNotifyControl() {
    if (!button || !help) {
      return;
    }
    var state = notificationState();
    // The live list keeps refreshing in a background tab only for someone who is notified.
    if (state === "on") {
      results.dataset.watchHidden = "true";
    } else {
      delete results.dataset.watchHidden;
    }
    button.hidden = false;
    button.dataset.state = state;
    button.textContent = state === "blocked" ? words.blockedLabel : askLabel;
    button.setAttribute("aria-pressed", String(state === "on"));
    help.textContent = explanations[state] || "";
    help.hidden = !explain || !help.textContent;
  }

  function toggleNotifications() {
    explain = true;
    var state = notificationState();
    if (state === "on") {
      store(NOTIFY_KEY, "off");
      explain = false;
    }
    if (state !== "off") {
      showNotifyControl();
      return;
    }
    var answered = false;
    function answer() {
      if (answered) {
        return;
      }
      answered = true;
      if (Notification.permission === "granted") {
        store(NOTIFY_KEY, "on");
      }
      showNotifyControl();
    }
    // Asked here only, on the person's own click: never on load.
    var asking = Notification.requestPermission(answer); // older Safari: a callback only
    if (asking && asking.then) {
      asking.then(answer);
    }
  }

  function announce(row) {
    var link = row.querySelector(".incident-link");
    var title = row.querySelector(".incident-row-title");
    var severity = row.querySelector(".incident-row-severity");
    var channel = row.querySelector(".incident-row-channel");
    var body = [severity, channel]
      .filter(Boolean)
      .map(function (part) {
        return part.textContent.trim();
      })
      .join(" · ");
    var notification = new Notification(
      "#" + row.dataset.number + " " + (title ? title.textContent.trim() : ""),
      // The tag lets a second tab's notification replace this one instead of doubling it.
      { body: body, tag: "incident-" + row.dataset.number, lang: document.documentElement.lang }
    );
    notification.onclick = function () {
      window.focus();
      if (link) {
        window.location.assign(link.href);
      }
      notification.close();
    };
  }

  if (button) {
    button.addEventListener("click", toggleNotifications);
  }
  showNotifyControl();

  // --- Wiring ------------------------------------------------------------------------------

  markRows(null);
  results.addEventListener("live:refreshed", function (event) {
    var arrived = markRows(event.detail.before);
    if (document.hidden && notifying()) {
      arrived.forEach(announce);
    }
  });
  document.addEventListener("visibilitychange", function () {
    // Permission may have changed in the site settings while the tab was away.
    showNotifyControl();
    rememberIfAllSeen();
  });
  window.addEventListener("storage", function (event) {
    if (event.key === NOTIFY_KEY) {
      showNotifyControl(); // turned on or off in another tab
    }
  });
})();
