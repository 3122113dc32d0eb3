// Copy buttons next to read-only values: URLs in the admin ("copy this into Alertmanager /
// Feishu"), a new API token on "My account".
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  event.preventDefault();
  const field = document.getElementById(button.dataset.copyTarget);
  const original = button.textContent;
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = button.dataset.copiedLabel || "Copied";
  } catch {
    // Clipboard API needs a secure context (https or localhost): fall back to selecting.
    field.select();
    button.textContent = button.dataset.selectLabel || "Press Ctrl+C";
  }
  setTimeout(() => { button.textContent = original; }, 2000);
});
