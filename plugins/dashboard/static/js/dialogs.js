// The confirmation dialog (a native <dialog>; Cancel has the focus, Escape cancels).

export function confirmAction(message) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return Promise.resolve(false);
  document.getElementById("confirm-message").textContent = message;
  dialog.returnValue = "cancel";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}
