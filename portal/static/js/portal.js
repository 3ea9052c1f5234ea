// Behaviour that would otherwise be inline (the Content-Security-Policy allows scripts from /static only).
// Forms marked data-reset-on-success are emptied after a successful htmx request (the chat composer).
document.addEventListener("htmx:afterRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (event.detail.successful && elt && elt.matches && elt.matches("form[data-reset-on-success]")) {
    elt.reset();
  }
});

// Errors the GOV.UK way (the page works without this): the error summary takes the focus when a page or
// an htmx swap brings one, so screen readers announce it and keyboards start there; a choice corrected
// after an error (a select, a radio, a checkbox) loses its stale message (the server checks everything
// again on submit). Text fields are left alone: their change fires on blur, often from a click on the
// submit button, and a message removed then would move the button away from under the pointer.
function focusErrorSummary() {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
}
document.addEventListener("DOMContentLoaded", focusErrorSummary);
document.addEventListener("htmx:afterSettle", function (event) {
  var target = event.detail && event.detail.elt;
  if (target && target.querySelector && target.querySelector("#error-summary")) focusErrorSummary();
});
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input || !input.getAttribute || input.getAttribute("aria-invalid") !== "true" || input.hasAttribute("hx-post")) return;
  if (!(input.tagName === "SELECT" || input.type === "radio" || input.type === "checkbox")) return;
  if (!input.value) return;
  var field = input.closest(".field, fieldset");
  if (!field) return;
  field.classList.remove("field-error");
  var message = field.querySelector(".error-message");
  if (message) message.remove();
  input.removeAttribute("aria-invalid");
  var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) { return id && !/-error$/.test(id); });
  if (described.length) input.setAttribute("aria-describedby", described.join(" ")); else input.removeAttribute("aria-describedby");
});
