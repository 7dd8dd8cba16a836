// The workflow page's diagram follows its rows as they are edited (nothing is saved): the
// states and transitions inline rows are read, posted to the diagram endpoint, and the answer
// replaces the drawing, flagging unreachable states and open states with no way out.
(function () {
  "use strict";

  function rows(prefix) {
    const found = new Map();
    document.querySelectorAll('[name^="' + prefix + '-"]').forEach((input) => {
      const match = input.name.match(new RegExp("^" + prefix + "-(\\d+)-(.+)$"));
      if (!match) return;
      if (!found.has(match[1])) found.set(match[1], {});
      const row = found.get(match[1]);
      if (input.type === "checkbox") {
        if (match[2] === "roles") {
          row.roles = row.roles || [];
          if (input.checked) row.roles.push(input.value);
        } else row[match[2]] = input.checked;
      } else row[match[2]] = input.value;
    });
    return Array.from(found.values()).filter((row) => !row.DELETE);
  }

  function read(live) {
    const stateIds = JSON.parse(live.dataset.states);
    const roleNames = JSON.parse(live.dataset.roles);
    const states = rows("states").filter((s) => s.code);
    const byId = {};
    states.forEach((s) => s.id && (byId[s.id] = s.code));
    const code = (id) => byId[id] || stateIds[id] || "";
    const moves = rows("transitions")
      .filter((t) => t.to_state)
      .map((t) => ({
        from: t.from_state ? code(t.from_state) : null,
        to: code(t.to_state),
        label: t.label || "",
        roles: (t.roles || []).map((id) => roleNames[id]).filter(Boolean),
        reason: !!t.reason_required,
      }));
    const initial = document.getElementById("id_initial_state");
    return {
      initial: initial ? initial.value : "",
      states: states.map((s) => ({ code: s.code, name: s.name, phase: s.phase, requires_decision: !!s.requires_decision })),
      moves: moves,
    };
  }

  function init() {
    const live = document.querySelector(".wf-live");
    if (!live) return;
    const form = live.closest("form");
    const token = form.querySelector("[name=csrfmiddlewaretoken]");
    let timer = null;
    let sent = 0;
    const redraw = () => {
      const mine = ++sent;
      live.classList.add("wf-busy");
      fetch(live.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
        body: JSON.stringify(read(live)),
      })
        .then((response) => response.json())
        .then((answer) => {
          if (mine !== sent) return;
          live.classList.remove("wf-busy");
          if (answer.html) live.innerHTML = answer.html;
        })
        .catch(() => live.classList.remove("wf-busy"));
    };
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(redraw, 300);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // Rows added or removed with the inline's links change the form without an input event.
    new MutationObserver((changes) => {
      if (changes.some((change) => !live.contains(change.target))) later();
    }).observe(form, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
