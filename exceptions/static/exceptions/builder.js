// What the admin's builders (form_builder.js, rule_builder.js) share: building elements.
(function () {
  "use strict";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach((child) => child && node.appendChild(child));
    return node;
  }

  function labelled(text, control, cls) {
    // Named by its label alone (a label around a select would also read out its options).
    control.setAttribute("aria-label", text);
    if (!control.matches("input, select, textarea")) control.setAttribute("role", "group");
    return el("label", { class: "fb-setting " + (cls || "") }, [el("span", { text: text }), control]);
  }

  function numberOrEmpty(value) {
    if (String(value).trim() === "") return "";
    const number = Number(String(value).replace(",", "."));
    return Number.isFinite(number) ? number : "";
  }

  function intOrEmpty(value) {
    const number = numberOrEmpty(value);
    return number === "" ? "" : Math.trunc(number);
  }

  // The textarea behind a builder, shown by its "advanced" switch.
  function advancedSwitch(root) {
    root.classList.add("fb-ready");
    const toggle = root.querySelector(".fb-advanced-toggle");
    if (toggle) toggle.addEventListener("change", () => root.classList.toggle("fb-show-json", toggle.checked));
  }

  window.AndonBuilder = { el, labelled, numberOrEmpty, intOrEmpty, advancedSwitch };
})();
