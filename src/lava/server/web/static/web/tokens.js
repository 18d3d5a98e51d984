// The tokens page: reveal or copy a secret (fetched on demand, so the page itself never
// holds one), and confirm before deleting.
const csrf = () => document.querySelector("input[name=csrfmiddlewaretoken]").value;
const secrets = new Map();

async function secretOf(url, id) {
  if (secrets.has(id)) return secrets.get(id);
  const answer = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": csrf(), "X-Requested-With": "XMLHttpRequest" },
    credentials: "same-origin",
  });
  if (!answer.ok) throw new Error(`the server answered ${answer.status}`);
  const { secret } = await answer.json();
  secrets.set(id, secret);
  return secret;
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    flash(button, "Copied");
  } catch {
    flash(button, "Select and copy by hand");
  }
}

function flash(button, text) {
  const old = button.textContent;
  button.textContent = text;
  setTimeout(() => { button.textContent = old; }, 1500);
}

for (const button of document.querySelectorAll("[data-reveal]")) {
  button.addEventListener("click", async () => {
    const shown = document.querySelector(`[data-secret-for="${button.dataset.token}"]`);
    if (button.dataset.shown) {
      shown.textContent = "••••••••••••••••";
      button.textContent = "Show";
      delete button.dataset.shown;
      return;
    }
    try {
      shown.textContent = await secretOf(button.dataset.reveal, button.dataset.token);
      button.textContent = "Hide";
      button.dataset.shown = "1";
    } catch (error) {
      flash(button, `Failed: ${error.message}`);
    }
  });
}

for (const button of document.querySelectorAll("[data-copy-token]")) {
  button.addEventListener("click", async () => {
    try {
      await copy(await secretOf(button.dataset.copyToken, button.dataset.token), button);
    } catch (error) {
      flash(button, `Failed: ${error.message}`);
    }
  });
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", () => {
    const field = document.querySelector(button.dataset.copy);
    field.select();
    copy(field.value, button);
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
