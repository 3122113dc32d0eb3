// Rows editors (oncall/admin/structured.py): "add" copies the editor's hidden blank row (its
// inputs disabled, so that it is never posted) and "remove" drops a row. Listens on the
// document, so that editors inside an inline Django's "add another" copies work too.
"use strict";

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-rows-add]");
  if (add) {
    const blank = add.closest("[data-rows]").querySelector("[data-rows-blank]");
    const row = blank.cloneNode(true);
    row.hidden = false;
    row.removeAttribute("data-rows-blank");
    for (const input of row.querySelectorAll("input, select")) input.disabled = false;
    blank.before(row);
    const first = row.querySelector("input, select");
    if (first) first.focus();
    return;
  }
  const remove = event.target.closest("[data-rows-remove]");
  if (remove) {
    const editor = remove.closest("[data-rows]");
    remove.closest("tr").remove();
    const next = editor.querySelector("[data-rows-add]");
    if (next) next.focus();
  }
});
