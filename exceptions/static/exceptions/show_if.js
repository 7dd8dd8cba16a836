// Fields shown only while another has a value (a form field's show-if, exceptions.schema).
// Each wrapper carries data-show-if='{"field": "data-photo_taken", "equals": true}'; a hidden
// field's inputs are disabled, so what it held is not sent (the server drops it as well).
(function () {
  "use strict";

  function valueOf(form, name) {
    const inputs = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
    if (!inputs.length) return undefined;
    const first = inputs[0];
    if (first.type === "checkbox" && inputs.length === 1) return first.checked;
    if (first.type === "radio") {
      const checked = Array.from(inputs).find((input) => input.checked);
      return checked ? checked.value : undefined;
    }
    return first.value;
  }

  function matches(actual, expected) {
    if (typeof expected === "boolean") return actual === expected;
    if (actual === undefined || actual === "") return false;
    if (typeof expected === "number") return Number(String(actual).replace(",", ".")) === expected;
    return String(actual) === String(expected);
  }

  function apply(form) {
    form.querySelectorAll("[data-show-if]").forEach((wrapper) => {
      let rule;
      try {
        rule = JSON.parse(wrapper.dataset.showIf);
      } catch (error) {
        return;
      }
      const visible = matches(valueOf(form, rule.field), rule.equals);
      wrapper.hidden = !visible;
      wrapper.querySelectorAll("input, select, textarea").forEach((input) => {
        input.disabled = !visible;
      });
    });
  }

  function init(root) {
    (root || document).querySelectorAll("form").forEach((form) => {
      if (!form.querySelector("[data-show-if]") || form.dataset.showIfReady) return;
      form.dataset.showIfReady = "1";
      form.addEventListener("input", () => apply(form));
      form.addEventListener("change", () => apply(form));
      apply(form);
    });
  }

  window.andonShowIf = init;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => init());
  } else {
    init();
  }
})();
