/* "Print" buttons (no inline handlers: the CSP allows only the app's own scripts). */
document.querySelectorAll(".print-page").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
