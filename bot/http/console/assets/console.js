// Every console page: htmx requests carry the session's CSRF token (the API checks it on
// state-changing calls), read from <meta name="csrf-token">. No inline script anywhere (CSP).
document.addEventListener('htmx:configRequest', function (e) {
  var m = document.querySelector('meta[name="csrf-token"]');
  if (m) e.detail.headers['x-csrf-token'] = m.getAttribute('content');
});
