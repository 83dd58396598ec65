// Behaviour shared by every page. The Content-Security-Policy allows no inline
// script nor inline event handler: pages ask for behaviour with data- attributes.

// A button with data-confirm asks before it sends its form: for actions that
// are easy to hit by mistake on a tablet and that change what a client owes.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// A form with data-once sends once: a second click while the page loads sends
// nothing more. The buttons are disabled after the submission has started, so
// the clicked button's name and value are still sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("form[data-once]") || event.defaultPrevented) {
    return;
  }
  setTimeout(function () {
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
      b.disabled = true;
    });
  }, 0);
});

// A select marked data-autosubmit (or inside an element so marked) sends its
// form as soon as a value is picked: the language, a filter.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.matches("select") && select.form && select.closest("[data-autosubmit]")) {
    select.form.submit();
  }
});

// « Tout sélectionner » ticks the rows of its own section.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches("input.select-all")) {
    return;
  }
  var rows = 'input[name=payments][data-section="' + box.dataset.section + '"]';
  document.querySelectorAll(rows).forEach(function (row) {
    row.checked = box.checked;
  });
});

// Cheque number and bank only matter for a cheque.
document.querySelectorAll("form").forEach(function (form) {
  var method = form.querySelector("select[name$='-method']");
  var cheque = form.querySelector("[data-cheque-fields]");
  if (!method || !cheque) {
    return;
  }
  function show() {
    cheque.hidden = method.value !== "cheque";
  }
  method.addEventListener("change", show);
  show();
});

// An online payment still being processed: the page looks again in 5 seconds.
if (document.querySelector("#online-status[data-status=processing]")) {
  setTimeout(function () {
    window.location.reload();
  }, 5000);
}

// ---- Exports built by a job -------------------------------------------------------
// An export's page (data-export-status: the address of its JSON status) asks
// every data-export-poll milliseconds how far the file is, moves its progress
// bar (and says data-export-running once a worker has it), and reloads once
// the file is ready or has failed: the page then shows « Télécharger » or the
// failure. Without script, the page refreshes itself.
(function () {
  var box = document.querySelector("[data-export-status]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-export-status");
  var every = parseInt(box.getAttribute("data-export-poll"), 10) || 1000;
  var bar = box.querySelector("[data-export-bar]");
  var words = box.querySelector("[data-export-state]");
  function show(state) {
    if (words && state.status === "running") {
      words.textContent = box.getAttribute("data-export-running");
    }
    if (!bar) {
      return;
    }
    var inner = bar.querySelector(".progress-bar");
    bar.setAttribute("aria-valuenow", state.progress);
    inner.style.width = state.progress + "%";
    inner.textContent = state.progress + "\u00a0%";
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          window.location.reload();
        } else {
          setTimeout(poll, every);
        }
      })
      .catch(function () {
        setTimeout(poll, every * 3); // the server away a moment: ask less often
      });
  }
  setTimeout(poll, every);
})();
