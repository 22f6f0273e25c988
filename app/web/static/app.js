/* Secure Base: small enhancements on top of pages that work without any script.
 *
 * - Autosave: each answer is sent to /web/answers as it is chosen.
 * - Instant help: the server decides whether the answers call for the crisis notice and
 *   returns it; the notice is put in the live region and focus moves to it. This script
 *   knows no risk rules, and it never removes a notice.
 * - Copy button for the resume link, print button on the results, and removing the resume
 *   code from the address bar after it has been read.
 */
(function () {
  "use strict";

  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = tokenMeta ? tokenMeta.getAttribute("content") : "";

  function shownRank() {
    var current = document.querySelector("#crisis-region [data-rank]");
    return current ? Number(current.getAttribute("data-rank")) : 0;
  }

  function showNotice(reply) {
    if (!reply || !reply.notice_html || Number(reply.rank) <= shownRank()) {
      return;
    }
    var region = document.getElementById("crisis-region");
    if (!region) {
      return;
    }
    region.innerHTML = reply.notice_html;
    var notice = region.querySelector("[data-rank]");
    if (notice) {
      notice.focus();
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
    var timer = null;

    function flush() {
      var answers = pending;
      pending = {};
      timer = null;
      if (Object.keys(answers).length === 0) {
        return;
      }
      fetch(endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken },
        body: JSON.stringify({ answers: answers })
      })
        .then(function (response) {
          return response.json().then(function (reply) {
            showNotice(reply);
            setStatus(status, status && status.getAttribute(reply.saved ? "data-saved" : "data-failed"));
          });
        })
        .catch(function () {
          setStatus(status, status && status.getAttribute("data-failed"));
        });
    }

    form.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || input.type !== "radio" || !/^-?[0-9]+$/.test(input.value)) {
        return;
      }
      pending[input.name] = parseInt(input.value, 10);
      if (timer !== null) {
        clearTimeout(timer);
      }
      timer = setTimeout(flush, 120);
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
