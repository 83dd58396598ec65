// « Paramètres › Moyens de paiement »: what depends on payments can be changed
// only while the « Activer la gestion des paiements » switch is on. The server
// applies the same rule to what is sent; this only follows the switch live.
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.getElementById("id_payments_enabled");
  if (!toggle) {
    return;
  }
  function follow() {
    document.querySelectorAll(".needs-payments").forEach(function (fieldset) {
      fieldset.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (!input.hasAttribute("data-locked")) {
          input.disabled = !toggle.checked;
        }
      });
    });
    var note = document.getElementById("payments-off-note");
    if (note) {
      note.hidden = toggle.checked;
    }
  }
  toggle.addEventListener("change", follow);
});
