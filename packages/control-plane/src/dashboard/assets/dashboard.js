// Refreshes a dashboard page's content in place (#content, from its data-src with the page's
// query string), keeping the filters and the scroll position. Pauses while the tab is hidden;
// a failed refresh is tried again at the next tick.
(() => {
  const content = document.getElementById('content');
  if (!content) return;
  const seconds = Number(content.dataset.refresh) || 15;
  const src = content.dataset.src || '/dashboard/content';
  async function refresh() {
    if (document.hidden) return;
    try {
      const res = await fetch(`${src}${window.location.search}`, {
        credentials: 'same-origin',
        headers: { accept: 'text/html' },
      });
      if (res.status === 401) {
        window.location.href = '/dashboard/login';
        return;
      }
      if (!res.ok) return;
      // Sections a reader opened (an attempt's input or output) stay open.
      const open = [...content.querySelectorAll('details')].map((d) => d.open);
      content.innerHTML = await res.text();
      const now = content.querySelectorAll('details');
      if (now.length === open.length) {
        now.forEach((d, i) => {
          d.open = open[i];
        });
      }
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
