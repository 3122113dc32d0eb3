// The "try" boxes of an alert source's admin page: "Try on a sample" (a pasted body through the
// source's unsaved options) and "Try it on a recent event" (one of its recent events through
// the pipeline rules as they are on the page). A box's button posts the page's form as it is
// (its unsaved fields, the CSRF token) with the box's own value, and the box shows the answer.
// Nothing is saved. A box names the URL it posts to (data-try-url), the form field its value
// goes in (data-try-field) and how its answer is shown (data-try-show: one of SHOWN below).
const SHOWN = { events: showEvents, pipeline: showPipeline };

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-try-run]");
  if (!button) return;
  event.preventDefault();
  const box = button.closest("[data-try-url]");
  const result = box.querySelector("[data-try-result]");
  const data = new FormData(button.form);
  data.set(box.dataset.tryField, box.querySelector("[data-try-input]").value);
  result.textContent = "…";
  try {
    const response = await fetch(box.dataset.tryUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" },
      credentials: "same-origin",
    });
    const answer = await response.json();
    result.replaceChildren();
    if (answer.errors) {
      result.append(errorList(answer.errors));
    } else {
      SHOWN[box.dataset.tryShow](result, answer, box);
    }
  } catch (error) {
    result.textContent = String(error);
  }
});

function errorList(errors) {
  const list = element("ul", "errorlist");
  for (const [field, messages] of Object.entries(errors)) {
    for (const message of [].concat(messages)) {
      list.append(element("li", "", field === "__all__" ? message : `${field}: ${message}`));
    }
  }
  return list;
}

// "Try on a sample": the events the body gives, or the error naming the field.
function showEvents(result, answer, box) {
  if (answer.error) {
    const where = answer.error.field ? ` (${answer.error.field})` : "";
    result.append(element("ul", "errorlist", null, element("li", "", answer.error.message + where)));
    return;
  }
  const headings = JSON.parse(box.dataset.headings);
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

// "Try it on a recent event": the event before and after the rules, and the rules that ran.
function showPipeline(result, answer) {
  const lines = [];
  for (const field of ["title", "severity", "description"]) {
    const before = answer.before[field];
    const after = answer.after[field];
    lines.push(before === after ? `${field}: ${after}` : `${field}: ${before} → ${after}`);
  }
  lines.push(`labels: ${Object.entries(answer.after.labels).map(([k, v]) => `${k}=${v}`).join(", ")}`);
  const steps = (answer.after.pipeline || []).map((step) => `${step.name} (${step.action})`);
  lines.push(`rules: ${steps.join(" → ") || "none matched"}`);
  if (answer.dropped) lines.push("DROPPED");
  result.append(element("pre", "try-pipeline-result", lines.join("\n")));
}

function element(tag, className, text, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = text;
  node.append(...children);
  return node;
}
