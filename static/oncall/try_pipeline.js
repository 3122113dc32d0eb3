// "Try it on a recent event" on an alert source's admin page: posts the page's form as it is
// (the pipeline rules inline, unsaved; the CSRF token) with the chosen recent event, and shows
// the event before and after the rules, or the problems of the rules. Nothing is saved.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-try-pipeline-run]");
  if (!button) return;
  event.preventDefault();
  const box = button.closest("[data-try-pipeline-url]");
  const result = box.querySelector("[data-try-pipeline-result]");
  const data = new FormData(button.form);
  data.set("event", box.querySelector("[data-try-pipeline-event]").value);
  result.textContent = "…";
  try {
    const response = await fetch(box.dataset.tryPipelineUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" },
      credentials: "same-origin",
    });
    result.textContent = describe(await response.json());
  } catch (error) {
    result.textContent = String(error);
  }
});

function describe(answer) {
  if (answer.errors) {
    return Object.entries(answer.errors)
      .map(([where, messages]) => `${where}: ${[].concat(messages).join(" ")}`)
      .join("\n");
  }
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
  return lines.join("\n");
}
