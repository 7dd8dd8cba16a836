// The exception type's form builder (exceptions/admin/form_builder.py): a row per field, read
// from and written back to the form's JSON Schema textarea on every change, and a live
// preview of the floor's own rendering beside it. The textarea stays the stored form: with the
// "advanced" switch it can be edited directly, and the rows follow it.
(function () {
  "use strict";

  // Keywords the rows manage; any other keyword of a field is kept as it was.
  const MANAGED = [
    "type", "format", "x-widget", "title", "description", "default", "enum", "items",
    "uniqueItems", "minimum", "maximum", "maxLength", "x-unit", "x-decimals",
  ];

  const { el, labelled, numberOrEmpty, intOrEmpty, advancedSwitch } = window.AndonBuilder;

  function slug(text) {
    const base = String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/ł/g, "l").replace(/Ł/g, "L").replace(/ß/g, "ss")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 50);
    return /^[a-z]/.test(base) ? base : base ? "f_" + base : "";
  }

  class Builder {
    constructor(root) {
      this.root = root;
      this.types = JSON.parse(root.dataset.types);
      this.text = JSON.parse(root.dataset.text);
      this.showIfKey = root.dataset.showIfKey;
      this.previewUrl = root.dataset.previewUrl;
      this.textarea = root.querySelector("textarea");
      this.rows = root.querySelector(".fb-rows");
      this.jsonError = root.querySelector(".fb-json-error");
      this.problems = root.querySelector(".fb-problems");
      this.impact = root.querySelector(".fb-impact");
      this.frame = root.querySelector(".fb-phone");
      this.fields = [];
      this.extraSchema = {};
      this.timer = null;
      this.sent = 0;
      advancedSwitch(root);
      root.querySelector(".fb-add").addEventListener("click", () => this.add());
      this.textarea.addEventListener("input", () => this.readJson(true));
      this.readJson(false);
    }

    typeOf(spec) {
      let best = null;
      let size = -1;
      this.types.forEach((type) => {
        const fits =
          Object.entries(type.schema).every(([k, v]) => spec[k] === v) &&
          type.requires.every((k) => k in spec);
        const weight = Object.keys(type.schema).length + type.requires.length;
        if (fits && weight > size) {
          best = type;
          size = weight;
        }
      });
      return best;
    }

    type(name) {
      return this.types.find((type) => type.name === name) || this.types[0];
    }

    readJson(fromTyping) {
      const raw = this.textarea.value.trim();
      let schema;
      try {
        schema = raw ? JSON.parse(raw) : {};
      } catch (error) {
        this.jsonError.hidden = false;
        this.jsonError.textContent = this.text.json_error.replace("%(error)s", error.message);
        return;
      }
      this.jsonError.hidden = true;
      if (typeof schema !== "object" || schema === null || Array.isArray(schema)) schema = {};
      const properties = schema.properties && typeof schema.properties === "object" ? schema.properties : {};
      const order = (Array.isArray(schema.order) ? schema.order : []).filter((n) => n in properties);
      Object.keys(properties).forEach((n) => order.includes(n) || order.push(n));
      const required = new Set(Array.isArray(schema.required) ? schema.required : []);
      this.extraSchema = {};
      Object.entries(schema).forEach(([k, v]) => {
        if (!["type", "properties", "required", "order"].includes(k)) this.extraSchema[k] = v;
      });
      this.fields = order.map((name) => {
        const spec = properties[name] && typeof properties[name] === "object" ? properties[name] : {};
        const type = this.typeOf(spec);
        return {
          name: name,
          stored: name,
          named: true,
          type: type ? type.name : "string",
          spec: spec,
          required: required.has(name),
        };
      });
      this.render();
      if (fromTyping) this.schedulePreview();
      else this.preview();
    }

    writeJson() {
      const schema = this.schema();
      this.textarea.value = Object.keys(schema).length ? JSON.stringify(schema, null, 2) : "{}";
      this.schedulePreview();
    }

    schema() {
      if (!this.fields.length) return { ...this.extraSchema };
      const properties = {};
      this.fields.forEach((field) => {
        properties[field.name] = field.spec;
      });
      const schema = { ...this.extraSchema, type: "object", properties: properties };
      const required = this.fields.filter((f) => f.required).map((f) => f.name);
      if (required.length) schema.required = required;
      schema.order = this.fields.map((f) => f.name);
      return schema;
    }

    // A field's spec: the type's keywords, then what the row says, then what it kept.
    setType(field, typeName) {
      const type = this.type(typeName);
      const kept = {};
      Object.entries(field.spec).forEach(([k, v]) => {
        if (!MANAGED.includes(k)) kept[k] = v;
      });
      const spec = { ...type.schema, ...kept };
      ["title", "description"].forEach((k) => field.spec[k] !== undefined && (spec[k] = field.spec[k]));
      const options = this.options(field);
      if (type.requires.includes("enum")) spec.enum = options.length ? options : [""];
      if (type.requires.includes("items")) {
        spec.items = { type: "string", enum: options.length ? options : [""] };
        spec.uniqueItems = true;
      }
      type.settings.forEach((k) => {
        if (k !== "options" && field.spec[k] !== undefined) spec[k] = field.spec[k];
      });
      field.type = type.name;
      field.spec = spec;
      this.checkShowIf();
    }

    options(field) {
      if (Array.isArray(field.spec.enum)) return field.spec.enum.filter((v) => v !== "");
      if (field.spec.items && Array.isArray(field.spec.items.enum)) {
        return field.spec.items.enum.filter((v) => v !== "");
      }
      return [];
    }

    // A show-if naming a field that is gone, now after this one, of several choices or shown
    // only sometimes itself is dropped, not left broken.
    checkShowIf() {
      this.fields.forEach((field, index) => {
        const rule = field.spec[this.showIfKey];
        if (!rule) return;
        const at = this.fields.findIndex((f) => f.name === rule.field);
        const controller = this.fields[at];
        if (at < 0 || at >= index || controller.type === "multi-choice" || controller.spec[this.showIfKey]) {
          delete field.spec[this.showIfKey];
        }
      });
    }

    add() {
      const used = new Set(this.fields.map((f) => f.name));
      let name = "field_" + (this.fields.length + 1);
      for (let i = 2; used.has(name); i += 1) name = "field_" + (this.fields.length + i);
      const field = { name: name, stored: null, named: false, type: "string", spec: { type: "string" }, required: false };
      this.fields.push(field);
      this.changed();
      const rows = this.rows.querySelectorAll(".fb-row");
      rows[rows.length - 1].querySelector(".fb-label").focus();
    }

    move(index, by) {
      const to = index + by;
      if (to < 0 || to >= this.fields.length) return;
      const [field] = this.fields.splice(index, 1);
      this.fields.splice(to, 0, field);
      this.checkShowIf();
      this.changed();
      this.rows.querySelectorAll(".fb-row")[to].querySelector(by < 0 ? ".fb-up" : ".fb-down").focus();
    }

    remove(index) {
      this.fields.splice(index, 1);
      this.checkShowIf();
      this.changed();
    }

    changed() {
      this.render();
      this.writeJson();
    }

    uniqueName(base, field) {
      const used = new Set(this.fields.filter((f) => f !== field).map((f) => f.name));
      let name = base || "field";
      for (let i = 2; used.has(name); i += 1) name = (base || "field") + "_" + i;
      return name;
    }

    // Renamed: show-ifs naming it follow, and so do the other rows' choices (in place: the
    // row being typed in is never redrawn under the cursor).
    rename(field, name) {
      const old = field.name;
      field.name = name;
      this.fields.forEach((f) => {
        const rule = f.spec[this.showIfKey];
        if (rule && rule.field === old) rule.field = name;
      });
      this.rows.querySelectorAll(".fb-show-if-field option").forEach((option) => {
        if (option.value === old) option.value = name;
      });
    }

    relabel(field) {
      const text = this.text.when.replace("%(field)s", field.spec.title || field.name);
      this.rows.querySelectorAll(".fb-show-if-field option").forEach((option) => {
        if (option.value === field.name) option.textContent = text;
      });
    }

    // A field's choices changed: its default and the show-ifs that depend on it are redrawn.
    refreshChoices(field, row) {
      const type = this.type(field.type);
      const old = row.querySelector(".fb-default");
      if (old) old.replaceWith(this.defaultInput(field, type));
      this.fields.forEach((f, index) => {
        const rule = f.spec[this.showIfKey];
        if (rule && rule.field === field.name) {
          this.rows.children[index].replaceWith(this.row(f, index));
        }
      });
    }

    // --- rows --------------------------------------------------------------------------

    render() {
      this.rows.textContent = "";
      this.root.classList.toggle("fb-has-fields", this.fields.length > 0);
      this.fields.forEach((field, index) => this.rows.appendChild(this.row(field, index)));
    }

    input(field, key, attrs, parse) {
      const value = field.spec[key];
      const node = el("input", { ...attrs, value: value === undefined ? "" : String(value) });
      node.addEventListener("input", () => {
        const parsed = parse ? parse(node.value) : node.value;
        if (parsed === undefined || parsed === "") delete field.spec[key];
        else field.spec[key] = parsed;
        this.writeJson();
      });
      return node;
    }

    row(field, index) {
      const t = this.text;
      const type = this.type(field.type);
      const row = el("li", { class: "fb-row", "data-name": field.name });
      const label = el("input", { class: "fb-label", type: "text", value: field.spec.title || "", maxlength: "200" });
      label.addEventListener("input", () => {
        if (label.value) field.spec.title = label.value;
        else delete field.spec.title;
        if (!field.named) {
          this.rename(field, this.uniqueName(slug(label.value) || "field", field));
          name.value = field.name;
        }
        this.relabel(field);
        this.writeJson();
      });
      const typeSelect = el("select", { class: "fb-type" });
      this.types.forEach((option) => {
        typeSelect.appendChild(el("option", { value: option.name, text: option.label, selected: option.name === field.type }));
      });
      typeSelect.addEventListener("change", () => {
        this.setType(field, typeSelect.value);
        this.changed();
      });
      const required = el("input", { class: "fb-required", type: "checkbox", checked: field.required });
      required.addEventListener("change", () => {
        field.required = required.checked;
        this.writeJson();
      });
      const name = el("input", { class: "fb-name", type: "text", value: field.name, pattern: "[a-z][a-z0-9_]*", maxlength: "60" });
      const renamedNote = el("span", { class: "help fb-renamed", text: t.renamed, hidden: true });
      name.addEventListener("input", () => {
        const clean = slug(name.value);
        if (!clean) return;
        field.named = true;
        this.rename(field, this.uniqueName(clean, field));
        renamedNote.hidden = !field.stored || field.stored === field.name;
        this.writeJson();
      });
      const tools = el("span", { class: "fb-tools" }, [
        el("button", { type: "button", class: "button fb-up", text: "↑", title: t.up, "aria-label": t.up, disabled: index === 0 }),
        el("button", { type: "button", class: "button fb-down", text: "↓", title: t.down, "aria-label": t.down, disabled: index === this.fields.length - 1 }),
        el("button", { type: "button", class: "button fb-remove", text: "✕", title: t.remove, "aria-label": t.remove }),
      ]);
      tools.querySelector(".fb-up").addEventListener("click", () => this.move(index, -1));
      tools.querySelector(".fb-down").addEventListener("click", () => this.move(index, 1));
      tools.querySelector(".fb-remove").addEventListener("click", () => this.remove(index));
      row.appendChild(el("div", { class: "fb-line" }, [
        el("span", { class: "fb-index", text: String(index + 1) + "." }),
        labelled(t.label, label, "fb-wide"),
        labelled(t.type, typeSelect),
        el("label", { class: "fb-setting fb-check" }, [required, el("span", { text: t.required })]),
        tools,
      ]));
      const help = this.input(field, "description", { class: "fb-help", type: "text", maxlength: "500" });
      row.appendChild(el("div", { class: "fb-line" }, [
        labelled(t.name, name), labelled(t.help, help, "fb-wide"), renamedNote,
      ]));
      if (t.languages.length) row.appendChild(this.translations(field));
      const settings = el("div", { class: "fb-line fb-settings" });
      if (type.settings.includes("options")) settings.appendChild(this.optionsInput(field));
      if (type.settings.includes("maxLength")) {
        settings.appendChild(labelled(t.max_length, this.input(field, "maxLength", { type: "number", min: "1", step: "1", class: "fb-max-length" }, intOrEmpty)));
      }
      const number = type.name === "integer" ? intOrEmpty : numberOrEmpty;
      if (type.settings.includes("minimum")) {
        settings.appendChild(labelled(t.minimum, this.input(field, "minimum", { type: "number", step: "any", class: "fb-minimum" }, number)));
      }
      if (type.settings.includes("maximum")) {
        settings.appendChild(labelled(t.maximum, this.input(field, "maximum", { type: "number", step: "any", class: "fb-maximum" }, number)));
      }
      if (type.settings.includes("x-unit")) {
        settings.appendChild(labelled(t.unit, this.input(field, "x-unit", { type: "text", maxlength: "20", class: "fb-unit" })));
      }
      if (type.settings.includes("x-decimals")) {
        settings.appendChild(labelled(t.decimals, this.input(field, "x-decimals", { type: "number", min: "0", max: "6", step: "1", class: "fb-decimals" }, intOrEmpty)));
      }
      if (type.has_default) settings.appendChild(labelled(t.default, this.defaultInput(field, type)));
      row.appendChild(settings);
      row.appendChild(this.showIfLine(field, index));
      return row;
    }

    // The label in each other language of the site's floor (x-title-i18n), kept only if typed.
    translations(field) {
      const line = el("div", { class: "fb-line fb-translations" });
      this.text.languages.forEach(([code, language]) => {
        const titles = field.spec["x-title-i18n"] || {};
        const input = el("input", { type: "text", maxlength: "200", class: "fb-label-" + code, value: titles[code] || "" });
        input.addEventListener("input", () => {
          const next = { ...(field.spec["x-title-i18n"] || {}) };
          if (input.value.trim()) next[code] = input.value.trim();
          else delete next[code];
          if (Object.keys(next).length) field.spec["x-title-i18n"] = next;
          else delete field.spec["x-title-i18n"];
          this.writeJson();
        });
        line.appendChild(labelled(this.text.label_in.replace("%(language)s", language), input));
      });
      return line;
    }

    optionsInput(field) {
      const box = el("textarea", { class: "fb-options", rows: "3", cols: "24" });
      box.value = this.options(field).join("\n");
      box.addEventListener("input", () => {
        const values = [...new Set(box.value.split("\n").map((v) => v.trim()).filter(Boolean))];
        const list = values.length ? values : [""];
        if (field.type === "multi-choice") field.spec.items = { type: "string", enum: list };
        else field.spec.enum = list;
        if (field.spec.default !== undefined && !values.includes(field.spec.default)) delete field.spec.default;
        this.writeJson();
      });
      box.addEventListener("change", () => this.refreshChoices(field, box.closest(".fb-row")));
      return labelled(this.text.options, box, "fb-wide");
    }

    valueInput(kind, options, value, onChange, cls) {
      const t = this.text;
      let node;
      if (kind === "boolean" || options) {
        node = el("select", { class: cls });
        node.appendChild(el("option", { value: "", text: t.no_default }));
        const values = kind === "boolean" ? [[true, t.yes], [false, t.no]] : options.map((o) => [o, String(o)]);
        values.forEach(([v, text]) => {
          node.appendChild(el("option", { value: JSON.stringify(v), text: text, selected: value !== undefined && JSON.stringify(value) === JSON.stringify(v) }));
        });
        node.addEventListener("change", () => onChange(node.value === "" ? undefined : JSON.parse(node.value)));
        return node;
      }
      const inputType = { number: "number", integer: "number", date: "date", "date-time": "text" }[kind] || "text";
      node = el("input", { type: inputType, class: cls, step: kind === "integer" ? "1" : "any", value: value === undefined ? "" : String(value) });
      node.addEventListener("input", () => {
        const parse = kind === "number" ? numberOrEmpty : kind === "integer" ? intOrEmpty : (v) => v;
        const parsed = parse(node.value);
        onChange(parsed === "" ? undefined : parsed);
      });
      return node;
    }

    defaultInput(field, type) {
      const options = type.settings.includes("options") ? this.options(field) : null;
      return this.valueInput(type.name, options, field.spec.default, (value) => {
        if (value === undefined) delete field.spec.default;
        else field.spec.default = value;
        this.writeJson();
      }, "fb-default");
    }

    showIfLine(field, index) {
      const t = this.text;
      const rule = field.spec[this.showIfKey];
      const candidates = this.fields.slice(0, index).filter((f) => f.type !== "multi-choice" && !f.spec[this.showIfKey]);
      const line = el("div", { class: "fb-line fb-show-if" });
      const which = el("select", { class: "fb-show-if-field" });
      which.appendChild(el("option", { value: "", text: t.always }));
      candidates.forEach((f) => {
        which.appendChild(el("option", { value: f.name, text: t.when.replace("%(field)s", f.spec.title || f.name), selected: rule && rule.field === f.name }));
      });
      which.addEventListener("change", () => {
        if (!which.value) delete field.spec[this.showIfKey];
        else {
          const controller = this.fields.find((f) => f.name === which.value);
          const options = this.options(controller);
          const first = controller.type === "boolean" ? true : options.length ? options[0] : "";
          field.spec[this.showIfKey] = { field: which.value, equals: first };
        }
        this.changed();
      });
      line.appendChild(labelled(t.show_if, which));
      if (rule) {
        const controller = this.fields.find((f) => f.name === rule.field);
        if (controller) {
          const kind = controller.type;
          const options = this.type(kind).settings.includes("options") ? this.options(controller) : null;
          const value = this.valueInput(kind, options, rule.equals, (v) => {
            rule.equals = v === undefined ? (kind === "boolean" ? true : "") : v;
            this.writeJson();
          }, "fb-show-if-value");
          line.appendChild(value);
        }
      }
      return line;
    }

    // --- preview -----------------------------------------------------------------------

    schedulePreview() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.preview(), 250);
    }

    preview() {
      if (!this.previewUrl) return;
      let schema;
      try {
        schema = JSON.parse(this.textarea.value.trim() || "{}");
      } catch (error) {
        return;
      }
      const sent = ++this.sent;
      const token = document.querySelector("[name=csrfmiddlewaretoken]");
      this.root.classList.add("fb-busy");
      fetch(this.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
        body: JSON.stringify({ schema: schema }),
      })
        .then((response) => response.json())
        .then((answer) => {
          if (sent !== this.sent) return; // a later edit's answer is on its way
          this.root.classList.remove("fb-busy");
          const problems = answer.problems || (answer.detail ? [answer.detail] : []);
          this.problems.textContent = "";
          problems.forEach((p) => this.problems.appendChild(el("li", { text: p })));
          this.problems.hidden = problems.length === 0;
          this.root.classList.toggle("fb-invalid", problems.length > 0);
          if (answer.html) this.frame.srcdoc = answer.html;
          const impact = answer.impact || [];
          this.impact.textContent = "";
          impact.forEach((p) => this.impact.appendChild(el("li", { class: "warning", text: p })));
          this.impact.hidden = impact.length === 0;
        })
        .catch(() => this.root.classList.remove("fb-busy"));
    }
  }

  function init() {
    document.querySelectorAll(".form-builder").forEach((root) => {
      if (!root.builder) root.builder = new Builder(root);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
