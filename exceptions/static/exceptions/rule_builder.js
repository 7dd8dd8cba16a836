// The routing rule's conditions and actions as rows (exceptions/admin/rule_builder.py), read
// from and written back to their JSON textareas. A condition offers the form fields of the
// types the rule can match (the types it names, else those of its categories, else every
// active type), the operators that mean something for the field's type and a value input of
// that type; an action offers its parameters as dropdowns.
(function () {
  "use strict";

  const { el, labelled, numberOrEmpty, advancedSwitch } = window.AndonBuilder;

  class Rows {
    constructor(root) {
      this.root = root;
      this.v = JSON.parse(root.dataset.vocabulary);
      this.t = this.v.text;
      this.textarea = root.querySelector("textarea");
      this.rows = root.querySelector(".fb-rows");
      this.jsonError = root.querySelector(".fb-json-error");
      this.items = [];
      advancedSwitch(root);
      root.querySelector(".fb-add").addEventListener("click", () => {
        this.items.push(this.blank());
        this.changed();
      });
      this.textarea.addEventListener("input", () => this.read());
      this.read();
    }

    read() {
      const raw = this.textarea.value.trim();
      let items;
      try {
        items = raw ? JSON.parse(raw) : [];
      } catch (error) {
        this.jsonError.hidden = false;
        this.jsonError.textContent = this.t.json_error.replace("%(error)s", error.message);
        return;
      }
      this.jsonError.hidden = true;
      this.items = Array.isArray(items) ? items.filter((i) => i && typeof i === "object") : [];
      this.render();
    }

    write() {
      this.textarea.value = JSON.stringify(this.items);
    }

    changed() {
      this.render();
      this.write();
    }

    render() {
      this.rows.textContent = "";
      this.root.classList.toggle("fb-has-fields", this.items.length > 0);
      this.items.forEach((item, index) => {
        const row = el("li", { class: "fb-row" });
        const line = el("div", { class: "fb-line" }, [el("span", { class: "fb-index", text: index + 1 + "." })]);
        this.fill(line, item);
        const remove = el("button", { type: "button", class: "button fb-remove", text: "✕", title: this.t.remove, "aria-label": this.t.remove });
        remove.addEventListener("click", () => {
          this.items.splice(index, 1);
          this.changed();
        });
        line.appendChild(el("span", { class: "fb-tools" }, [remove]));
        row.appendChild(line);
        this.rows.appendChild(row);
      });
    }

    select(options, value, onChange, cls) {
      const node = el("select", { class: cls });
      options.forEach(([v, text]) => node.appendChild(el("option", { value: JSON.stringify(v), text: text, selected: JSON.stringify(v) === JSON.stringify(value) })));
      node.addEventListener("change", () => onChange(JSON.parse(node.value)));
      return node;
    }

    lines(value, onChange, cls) {
      const box = el("textarea", { class: cls, rows: "3", cols: "24", title: this.t.lines });
      box.value = Array.isArray(value) ? value.join("\n") : "";
      box.addEventListener("input", () => onChange(box.value.split("\n").map((v) => v.trim()).filter(Boolean)));
      return box;
    }

    ticks(options, value, onChange, cls) {
      const chosen = new Set((Array.isArray(value) ? value : []).map((v) => JSON.stringify(v)));
      const box = el("span", { class: "fb-ticks " + cls });
      options.forEach(([v, text]) => {
        const tick = el("input", { type: "checkbox", value: JSON.stringify(v), checked: chosen.has(JSON.stringify(v)) });
        tick.addEventListener("change", () => {
          onChange(Array.from(box.querySelectorAll("input:checked")).map((i) => JSON.parse(i.value)));
        });
        box.appendChild(el("label", { class: "fb-check" }, [tick, el("span", { text: text })]));
      });
      return box;
    }
  }

  class Conditions extends Rows {
    constructor(root) {
      super(root);
      const again = () => this.render();
      document.querySelectorAll("input[name=categories]").forEach((box) => box.addEventListener("change", again));
      const watch = () => {
        const chosen = document.getElementById("id_types_to") || document.getElementById("id_types");
        if (!chosen || chosen.dataset.ruleWatched) return;
        chosen.dataset.ruleWatched = "1";
        chosen.addEventListener("change", again);
        new MutationObserver(again).observe(chosen, { childList: true });
        again();
      };
      watch();
      window.addEventListener("load", watch); // the types' two-box filter is drawn on load
    }

    blank() {
      const fields = this.fields();
      const first = fields[0];
      if (!first) return { field: "", op: "equals", value: "" };
      return { field: first.name, op: this.operators(first.kind)[0], value: this.startValue(first, this.operators(first.kind)[0]) };
    }

    types() {
      const chosenBox = document.getElementById("id_types_to");
      let ids = chosenBox ? Array.from(chosenBox.options).map((o) => Number(o.value)) : [];
      const plain = document.getElementById("id_types");
      if (!chosenBox && plain) ids = Array.from(plain.selectedOptions).map((o) => Number(o.value));
      if (ids.length) return this.v.types.filter((t) => ids.includes(t.id));
      const categories = Array.from(document.querySelectorAll("input[name=categories]:checked")).map((c) => c.value);
      return this.v.types.filter((t) => t.active && (!categories.length || categories.includes(t.category)));
    }

    // The fields of those types by name (a field several types share is offered once).
    fields() {
      const byName = new Map();
      this.types().forEach((type) => {
        type.fields.forEach((field) => {
          const known = byName.get(field.name);
          if (known) known.types.push(type.name);
          else byName.set(field.name, { ...field, types: [type.name] });
        });
      });
      return Array.from(byName.values());
    }

    operators(kind) {
      return this.v.operators[kind] || Object.keys(this.v.operator_labels);
    }

    startValue(field, op) {
      if (field.kind === "boolean") return true;
      if (op === "in") return field.options ? [field.options[0]] : [];
      if (field.options) return field.options[0];
      if (field.kind === "number" || field.kind === "integer") return 0;
      return "";
    }

    fill(line, item) {
      const t = this.t;
      const fields = this.fields();
      const field = fields.find((f) => f.name === item.field);
      const many = this.types().length > 1; // name the types of a field not all of them have
      const choices = fields.map((f) => [f.name, many && f.types.length < this.types().length ? t.of_types.replace("%(label)s", f.label).replace("%(types)s", f.types.join(", ")) : f.label]);
      if (!field) choices.unshift([item.field, t.not_in_types.replace("%(field)s", item.field || "?")]);
      line.appendChild(labelled(t.field, this.select(choices, item.field, (name) => {
        const chosen = fields.find((f) => f.name === name);
        item.field = name;
        if (chosen) {
          const ops = this.operators(chosen.kind);
          if (!ops.includes(item.op)) item.op = ops[0];
          item.value = this.startValue(chosen, item.op);
        }
        this.changed();
      }, "fb-condition-field")));
      const ops = field ? this.operators(field.kind) : Object.keys(this.v.operator_labels);
      const opChoices = ops.map((op) => [op, this.v.operator_labels[op] || op]);
      if (!ops.includes(item.op)) opChoices.unshift([item.op, String(item.op)]);
      line.appendChild(labelled(t.op, this.select(opChoices, item.op, (op) => {
        const wasList = item.op === "in";
        item.op = op;
        if (field && (op === "in") !== wasList) item.value = this.startValue(field, op);
        this.changed();
      }, "fb-condition-op")));
      line.appendChild(labelled(t.value, this.valueControl(field, item), "fb-wide"));
    }

    valueControl(field, item) {
      const t = this.t;
      const set = (value) => {
        item.value = value;
        this.write();
      };
      const kind = field ? field.kind : "string";
      const options = field && field.options ? field.options.map((o) => [o, String(o)]) : null;
      if (kind === "boolean") return this.select([[true, t.yes], [false, t.no]], item.value, set, "fb-condition-value");
      if (options && item.op === "in") return this.ticks(options, item.value, set, "fb-condition-value");
      if (options) {
        const known = options.some(([o]) => JSON.stringify(o) === JSON.stringify(item.value));
        return this.select(known ? options : [[item.value, String(item.value)], ...options], item.value, set, "fb-condition-value");
      }
      if (item.op === "in") return this.lines(item.value, set, "fb-condition-value");
      const number = kind === "number" || kind === "integer";
      const input = el("input", { type: number ? "number" : kind === "date" ? "date" : "text", step: "any", class: "fb-condition-value", value: item.value === undefined ? "" : String(item.value) });
      input.addEventListener("input", () => {
        const parsed = number ? numberOrEmpty(input.value) : input.value;
        set(parsed === "" && number ? 0 : parsed);
      });
      return input;
    }
  }

  class Actions extends Rows {
    blank() {
      return this.start(this.v.actions[0]);
    }

    start(action) {
      const item = { action: action.name };
      action.params.forEach((p) => {
        if (!p.required) return;
        item[p.name] = { role: this.v.roles[0], roles: [], severity: this.v.severities[0][0], list: [] }[p.kind] ?? "";
      });
      return item;
    }

    fill(line, item) {
      const t = this.t;
      const action = this.v.actions.find((a) => a.name === item.action);
      const choices = this.v.actions.map((a) => [a.name, a.label]);
      if (!action) choices.unshift([item.action, String(item.action)]);
      line.appendChild(labelled(t.action, this.select(choices, item.action, (name) => {
        const chosen = this.v.actions.find((a) => a.name === name);
        Object.keys(item).forEach((k) => delete item[k]);
        Object.assign(item, this.start(chosen));
        this.changed();
      }, "fb-action")));
      (action ? action.params : []).forEach((param) => {
        const label = this.v.param_labels[param.name] || this.v.param_labels[param.kind] || param.name;
        line.appendChild(labelled(label, this.paramControl(param, item), param.kind === "roles" ? "fb-wide" : ""));
      });
    }

    paramControl(param, item) {
      const set = (value) => {
        if (!param.required && (value === "" || (Array.isArray(value) && !value.length))) delete item[param.name];
        else item[param.name] = value;
        this.write();
      };
      const value = item[param.name];
      const cls = "fb-param fb-param-" + param.name;
      if (param.kind === "role") return this.select(this.v.roles.map((r) => [r, r]), value, set, cls);
      if (param.kind === "roles") return this.ticks(this.v.roles.map((r) => [r, r]), value, set, cls);
      if (param.kind === "severity") return this.select(this.v.severities, value, set, cls);
      if (param.kind === "list") return this.lines(value, set, cls);
      const input = el("input", { type: "text", class: cls, value: value === undefined ? "" : String(value) });
      if (param.kind === "username") {
        const id = "rule-users-" + Math.random().toString(36).slice(2);
        input.setAttribute("list", id);
        input.setAttribute("autocomplete", "off");
        const list = el("datalist", { id: id });
        this.v.users.forEach((u) => list.appendChild(el("option", { value: u })));
        input.addEventListener("input", () => set(input.value.trim()));
        return el("span", {}, [input, list]);
      }
      input.addEventListener("input", () => set(input.value));
      return input;
    }
  }

  function init() {
    document.querySelectorAll(".rule-builder").forEach((root) => {
      if (root.builder) return;
      root.builder = root.dataset.kind === "conditions" ? new Conditions(root) : new Actions(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
