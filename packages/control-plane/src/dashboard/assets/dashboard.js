// Refreshes the dashboard's content in place, keeping the filters and the scroll position.
// Pauses while the tab is hidden; falls back to doing nothing if a refresh fails.
(() => {
  const content = document.getElementById('content');
  if (!content) return;
  const seconds = Number(content.dataset.refresh) || 15;
  async function refresh() {
    if (document.hidden) return;
    try {
      const url = `/dashboard/content${window.location.search}`;
      const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (res.status === 401) {
        window.location.href = '/dashboard/login';
        return;
      }
      if (res.ok) content.innerHTML = await res.text();
    } catch {
      // network blip: try again next tick
    }
  }
  setInterval(refresh, seconds * 1000);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
  // Changing a filter applies it at once.
  for (const select of document.querySelectorAll('form.filters select')) {
    select.addEventListener('change', () => select.form.submit());
  }
})();
