// "Try on a sample" on an alert source's admin page: posts the pasted body with the page's
// form as it is (unsaved options, the CSRF token) and shows the events it gives, or the error
// naming the field. Nothing is saved.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-try-sample-run]");
  if (!button) return;
  event.preventDefault();
  const box = button.closest("[data-try-sample-url]");
  const result = box.querySelector("[data-try-sample-result]");
  const data = new FormData(button.form);
  data.set("sample", box.querySelector("[data-try-sample-body]").value);
  result.textContent = "…";
  try {
    const response = await fetch(box.dataset.trySampleUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" },
      credentials: "same-origin",
    });
    show(result, await response.json(), JSON.parse(box.dataset.headings));
  } catch (error) {
    result.textContent = String(error);
  }
});

function show(result, answer, headings) {
  result.replaceChildren();
  if (answer.errors) {
    const list = element("ul", "errorlist");
    for (const [field, messages] of Object.entries(answer.errors)) {
      for (const message of messages) {
        list.append(element("li", "", field === "__all__" ? message : `${field}: ${message}`));
      }
    }
    result.append(list);
    return;
  }
  if (answer.error) {
    const where = answer.error.field ? ` (${answer.error.field})` : "";
    result.append(element("ul", "errorlist", null, element("li", "", answer.error.message + where)));
    return;
  }
  result.append(element("p", "", `${headings.count}: ${answer.count}`));
  const table = element("table", "try-sample-events");
  const columns = ["title", "kind", "severity", "raw_severity", "alert_key", "labels", "links"];
  table.append(element("tr", "", null, ...columns.map((c) => element("th", "", headings[c]))));
  for (const event of answer.events) {
    const cells = columns.map((column) => element("td", "", cell(event, column)));
    table.append(element("tr", `try-sample-${event.kind}`, null, ...cells));
  }
  result.append(table);
}

function cell(event, column) {
  if (column === "labels") {
    return Object.entries(event.labels).map(([k, v]) => `${k}=${v}`).join("\n");
  }
  if (column === "links") {
    return event.links.map((link) => (link.text ? `${link.text}: ${link.href}` : link.href)).join("\n");
  }
  return String(event[column] ?? "");
}

function element(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = text;
  node.append(...children);
  return node;
}
