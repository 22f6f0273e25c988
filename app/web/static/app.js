/* Secure Base: small enhancements on top of pages that work without any script.
 *
 * - Autosave: each answer is sent to /web/answers once the person has settled on it. A click
 *   or Space is a choice and is sent at once. Arrow keys are how keyboard and screen-reader
 *   users move through a radio group, so an answer reached with them is sent only when focus
 *   leaves the group, after SETTLE_MS without another move, or when the page is hidden; what is
 *   sent is always the option checked at that moment. An answer passed on the way is never
 *   sent (a response keeps the highest crisis level it ever reached).
 * - Instant help: the server decides whether the answers call for the crisis notice and
 *   returns it; the notice is put in the live region (announced), scrolled into view with its
 *   heading at the top, and a "go to help" link is put by the group. Focus stays where the
 *   person is. This script knows no risk rules, and it never removes a notice.
 * - Copy button for the resume link, print button on the results, and removing the resume
 *   code from the address bar after it has been read.
 */
(function () {
  "use strict";

  var SETTLE_MS = 3000;
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";

  function shownRank() {
    var current = document.querySelector("#crisis-region [data-rank]");
    return current ? Number(current.getAttribute("data-rank")) : 0;
  }

  function offerHelpAt(form, name) {
    var input = form.querySelector('input[name="' + name + '"]');
    var item = input ? input.closest("fieldset") : null;
    var offer = document.getElementById("go-help");
    if (!item) {
      return;
    }
    if (!offer) {
      offer = document.createElement("p");
      offer.id = "go-help";
      offer.className = "go-help";
      offer.appendChild(document.createTextNode(form.getAttribute("data-announced") + " "));
      var link = document.createElement("a");
      link.href = "#crisis-notice";
      link.textContent = form.getAttribute("data-go-help");
      offer.appendChild(link);
    }
    item.appendChild(offer);
  }

  function showNotice(form, reply, name) {
    if (!reply || !reply.notice_html || Number(reply.rank) <= shownRank()) {
      return;
    }
    var region = document.getElementById("crisis-region");
    if (!region) {
      return;
    }
    region.innerHTML = reply.notice_html;
    var notice = region.querySelector("[data-rank]");
    if (!notice) {
      return;
    }
    notice.scrollIntoView({ block: "start" });
    var active = document.activeElement;
    if (!active || active === document.body) {
      notice.focus({ preventScroll: true });
    } else if (name) {
      offerHelpAt(form, name);
    }
  }

  function setStatus(element, text) {
    if (element && text) {
      element.textContent = text;
    }
  }

  function enableAutosave(form) {
    var endpoint = form.getAttribute("data-autosave");
    var status = form.querySelector("[data-save-status]");
    var pending = {};
    var settling = {};
    var timer = null;
    var arrowKeyDown = false;

    function checkedValue(name) {
      var checked = form.querySelector('input[name="' + name + '"]:checked');
      return checked && /^-?[0-9]+$/.test(checked.value) ? parseInt(checked.value, 10) : null;
    }

    function flush(keepalive) {
      var names = Object.keys(pending);
      var answers = {};
      var last = null;
      pending = {};
      timer = null;
      names.forEach(function (name) {
        // A group still being moved through with arrow keys is sent once it settles.
        var value = settling[name] ? null : checkedValue(name);
        if (value !== null) {
          answers[name] = value;
          last = name;
        }
      });
      if (last === null) {
        return;
      }
      fetch(endpoint, {
        method: "POST",
        credentials: "same-origin",
        keepalive: keepalive === true,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
        body: JSON.stringify({ answers: answers })
      })
        .then(function (response) {
          return response.json().then(function (reply) {
            showNotice(form, reply, last);
            setStatus(status, status && status.getAttribute(reply.saved ? "data-saved" : "data-failed"));
          });
        })
        .catch(function () {
          setStatus(status, status && status.getAttribute("data-failed"));
        });
    }

    function queue(name) {
      if (settling[name]) {
        clearTimeout(settling[name]);
        delete settling[name];
      }
      pending[name] = true;
      if (timer !== null) {
        clearTimeout(timer);
      }
      timer = setTimeout(flush, 120);
    }

    function settle(name) {
      if (settling[name]) {
        clearTimeout(settling[name]);
      }
      settling[name] = setTimeout(function () {
        delete settling[name];
        queue(name);
      }, SETTLE_MS);
    }

    form.addEventListener("keydown", function (event) {
      arrowKeyDown = event.target.type === "radio" && /^Arrow/.test(event.key);
    });
    form.addEventListener("keyup", function () {
      arrowKeyDown = false;
    });

    form.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || input.type !== "radio" || !/^-?[0-9]+$/.test(input.value)) {
        return;
      }
      if (arrowKeyDown) {
        settle(input.name);
      } else {
        queue(input.name);
      }
    });

    // Leaving a group (to another group, a button or anywhere else) settles its answer.
    form.addEventListener("focusout", function (event) {
      var input = event.target;
      var next = event.relatedTarget;
      if (!input || input.type !== "radio" || !settling[input.name]) {
        return;
      }
      if (next && next.type === "radio" && next.name === input.name) {
        return;
      }
      queue(input.name);
    });

    // Leaving the page: send what is settling now.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "hidden") {
        return;
      }
      Object.keys(settling).forEach(function (name) {
        clearTimeout(settling[name]);
        delete settling[name];
        pending[name] = true;
      });
      if (Object.keys(pending).length > 0) {
        if (timer !== null) {
          clearTimeout(timer);
        }
        flush(true);
      }
    });
  }

  function enableCopy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      function failed() {
        source.focus();
        source.select();
        setStatus(status, button.getAttribute("data-failed"));
      }
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        failed();
        return;
      }
      navigator.clipboard.writeText(source.value).then(function () {
        setStatus(status, button.getAttribute("data-copied"));
      }, failed);
    });
  }

  function enablePrint(button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  }

  document.querySelectorAll("form[data-autosave]").forEach(enableAutosave);
  document.querySelectorAll("button[data-copy]").forEach(enableCopy);
  document.querySelectorAll("button[data-print]").forEach(enablePrint);

  // The resume code should not stay in the address bar or the history once it was read.
  if (window.location.pathname === "/resume" && window.location.search.indexOf("code=") !== -1) {
    window.history.replaceState(null, "", "/resume");
  }
})();
