// Progressive enhancement of the web chat: the page works without this file (plain form POSTs).
// With it, an answer is posted with fetch, the returned turn is appended to the conversation,
// the answered question's form is removed, and focus moves to the new question.
(function () {
  'use strict';
  var log = document.getElementById('log');
  if (!log || !window.fetch || !window.FormData) return;
  var busy = false;

  log.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || busy) return;
    ev.preventDefault();
    var data = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      data.append(k, String(v));
    });
    var btn = ev.submitter;
    if (btn && btn.name) data.append(btn.name, btn.value);
    var echo = null;
    if (btn && btn.name === 'a' && !btn.hasAttribute('aria-pressed')) echo = btn.textContent;
    var text = form.querySelector('textarea');
    if (text && text.value.trim()) echo = text.value.trim();
    busy = true;
    form.setAttribute('aria-busy', 'true');
    fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-hl-fragment': '1' },
      body: data.toString(),
      credentials: 'same-origin',
    })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        var section = form.closest('section');
        var tmp = document.createElement('div');
        tmp.innerHTML = html;
        var toggled = btn && btn.hasAttribute('aria-pressed');
        var redrawn = tmp.querySelector('section.q');
        if (toggled && section && redrawn) {
          // A multi-choice toggle redraws the same question: replace it in place, keep focus on the option.
          section.replaceWith(redrawn);
          var same = redrawn.querySelector('button[value="' + btn.value.replace(/"/g, '') + '"]');
          if (same) same.focus();
          return;
        }
        if (section) {
          form.remove();
          section.classList.add('done');
          section.querySelector('h2').removeAttribute('tabindex');
        }
        if (echo) {
          var me = document.createElement('p');
          me.className = 'msg me';
          me.textContent = echo;
          log.appendChild(me);
        }
        // The echo bubble already shows the choice: drop the "Chosen: …" acknowledgement.
        if (echo)
          tmp.querySelectorAll('p.ack').forEach(function (n) {
            n.remove();
          });
        while (tmp.firstChild) log.appendChild(tmp.firstChild);
        var qs = log.querySelectorAll('section.q:not(.done) h2');
        var next = qs[qs.length - 1];
        if (next) next.focus();
        window.scrollTo(0, document.body.scrollHeight);
      })
      .catch(function () {
        // Fall back to a normal submission (a full page) on any error.
        form.removeAttribute('aria-busy');
        var input = document.createElement('input');
        input.type = 'hidden';
        if (btn && btn.name) {
          input.name = btn.name;
          input.value = btn.value;
          form.appendChild(input);
        }
        form.submit();
      })
      .finally(function () {
        busy = false;
      });
  });
})();
