// The notification template editor's "Preview": posts the form as it is (CSRF token and all)
// to the preview URL, which renders without saving, and shows each medium's output or error.
document.addEventListener("click", async (event) => {
  if (event.target.id !== "preview-button") return;
  const panel = document.getElementById("template-preview");
  const output = document.getElementById("preview-output");
  const form = event.target.closest("form");
  const response = await fetch(panel.dataset.previewUrl, {
    method: "POST",
    body: new FormData(form),
    credentials: "same-origin",
  });
  output.replaceChildren();
  if (!response.ok) {
    output.textContent = `${response.status} ${response.statusText}`;
    return;
  }
  const { media } = await response.json();
  for (const [name, shown] of Object.entries(media)) {
    const heading = document.createElement("h3");
    heading.textContent = shown.default ? `${name} (default)` : name;
    const block = document.createElement("pre");
    block.className = shown.error ? "preview-error" : "preview-text";
    block.textContent = shown.error || shown.text || "(empty)";
    output.append(heading, block);
  }
});
