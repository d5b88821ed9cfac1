// Progressive enhancement of the web chat: the page works without this file (plain form POSTs).
// With it, an answer is posted with fetch and the returned turn (rendered by the server, the
// citizen's answer included) is appended to the conversation, whose one live region (#log)
// reads it out once. The answered question's form is removed and focus moves to the first
// control of the new question, so keyboard users go on from there. A multi-choice toggle only
// flips the pressed state of its button: nothing is added, so nothing is read out again.
(function () {
  'use strict';
  var log = document.getElementById('log');
  if (!log || !window.fetch || !window.FormData) return;
  var busy = false;

  function closeOpenQuestions() {
    log.querySelectorAll('section.q:not(.done)').forEach(function (s) {
      var f = s.querySelector('form');
      if (f) f.remove();
      s.classList.add('done');
    });
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || busy) return;
    if (!log.contains(form) && !form.classList.contains('tools')) return;
    ev.preventDefault();
    var data = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      data.append(k, String(v));
    });
    var btn = ev.submitter;
    var skipping = btn && btn.hasAttribute('formnovalidate');
    if (skipping) data.delete('text');
    if (btn && btn.name) data.append(btn.name, btn.value);
    var toggled = btn && btn.hasAttribute('aria-pressed');
    busy = true;
    form.setAttribute('aria-busy', 'true');
    fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-hl-fragment': '1' },
      body: data.toString(),
      credentials: 'same-origin',
    })
      .then(function (r) {
        // 409: this page's survey is not the device's; the notice says what to do.
        if (!r.ok && r.status !== 409) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        form.removeAttribute('aria-busy');
        var tmp = document.createElement('div');
        tmp.innerHTML = html;
        var redrawn = tmp.querySelector('section.q');
        if (toggled && redrawn) {
          redrawn.querySelectorAll('button[aria-pressed]').forEach(function (b) {
            var mine = form.querySelector('button[value="' + b.value.replace(/"/g, '') + '"]');
            if (mine) mine.setAttribute('aria-pressed', b.getAttribute('aria-pressed'));
          });
          return;
        }
        // Only an acknowledgement ("choose at least one"): the question still waits here.
        var ackOnly = tmp.querySelector('.msg:not(.ack)') === null;
        if (!ackOnly) closeOpenQuestions();
        while (tmp.firstChild) log.appendChild(tmp.firstChild);
        var open = log.querySelectorAll('section.q:not(.done)');
        var next = open[open.length - 1];
        var first = next && next.querySelector('textarea, input:not([type="hidden"]), button');
        if (first && !ackOnly) first.focus({ preventScroll: true });
        (next || log.lastElementChild || log).scrollIntoView({ block: 'end' });
      })
      .catch(function () {
        // Fall back to a normal submission (a full page) on any error.
        form.removeAttribute('aria-busy');
        if (btn && btn.name) {
          var input = document.createElement('input');
          input.type = 'hidden';
          input.name = btn.name;
          input.value = btn.value;
          form.appendChild(input);
        }
        if (skipping) form.noValidate = true;
        form.submit();
      })
      .finally(function () {
        busy = false;
      });
  });
})();
