// A button with data-confirm asks before it sends its form: for actions that
// are easy to hit by mistake on a tablet and that change what a client owes.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
