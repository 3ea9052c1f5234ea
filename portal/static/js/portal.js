// Behaviour that would otherwise be inline (the Content-Security-Policy allows scripts from /static only).
// Forms marked data-reset-on-success are emptied after a successful htmx request (the chat composer).
document.addEventListener("htmx:afterRequest", function (event) {
  var elt = event.detail && event.detail.elt;
  if (event.detail.successful && elt && elt.matches && elt.matches("form[data-reset-on-success]")) {
    elt.reset();
  }
});
