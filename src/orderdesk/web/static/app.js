// OrderDesk H5: the little script the pages use. Everything works without it.
"use strict";
document.addEventListener("click", function (event) {
  // A rejection needs a reason: say so before the round trip (the server checks it anyway).
  var button = event.target.closest("button[data-needs-comment]");
  if (!button) return;
  var box = button.form && button.form.querySelector("textarea[name=comment]");
  if (box && !box.value.trim()) {
    event.preventDefault();
    box.setCustomValidity("驳回时请填写原因");
    box.reportValidity();
    box.addEventListener("input", function () { box.setCustomValidity(""); }, { once: true });
  }
});
