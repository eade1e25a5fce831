// The `execution` and `task` objects of Camunda 7 scripts, built in JavaScript on top of the
// input the host passed (`__baton_input`, a JSON text). Runs before every script, in the same
// fresh interpreter; the script only sees what it defines on the global object.
//
// Nothing here changes anything outside the interpreter: writes are recorded in `changes` and
// returned by `__baton_finish`, and the host applies them inside the step that ran the script.
(function () {
  "use strict";
  var input = JSON.parse(__baton_input);
  delete globalThis.__baton_input;
  var ctx = input.context;
  var visible = input.variables;
  var local = input.locals;
  var changes = [];
  var own = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  // Math.random from the engine's seed (mulberry32): a retry sees the same numbers.
  var seed = input.seed >>> 0;
  Math.random = function () {
    seed = (seed + 0x6D2B79F5) >>> 0;
    var t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // Typed value (the engine's form) to a JavaScript value.
  function toJs(t) {
    if (t === null || t === undefined) return null;
    switch (t.type) {
      case "Null": return null;
      case "Date": return new Date(t.value);
      case "Json": return t.value === null ? null : JSON.parse(JSON.stringify(t.value));
      case "Bytes": case "File": return null;
      default: return t.value;
    }
  }

  // A JavaScript value to a typed value: integral numbers are Integer when they fit in 32 bits
  // (as GraalJS hands them to Camunda), else Long; other numbers Double; Dates Date; objects
  // and arrays Json.
  function fromJs(v, what) {
    if (v === null || v === undefined) return { type: "Null", value: null };
    switch (typeof v) {
      case "string": return { type: "String", value: v };
      case "boolean": return { type: "Boolean", value: v };
      case "bigint":
        v = Number(v);
      // falls through
      case "number":
        if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return { type: "Integer", value: v };
        if (Number.isSafeInteger(v)) return { type: "Long", value: v };
        if (!isFinite(v)) throw new TypeError(what + ": " + v + " cannot be stored in a variable");
        return { type: "Double", value: v };
      case "object":
        if (v instanceof Date) {
          var ms = v.getTime();
          if (!isFinite(ms)) throw new TypeError(what + ": an invalid Date cannot be stored in a variable");
          return { type: "Date", value: ms };
        }
        if (v instanceof String || v instanceof Number || v instanceof Boolean) return fromJs(v.valueOf(), what);
        return { type: "Json", value: JSON.parse(JSON.stringify(v)) };
      default:
        throw new TypeError(what + ": a " + typeof v + " cannot be stored in a variable");
    }
  }

  function name(n, method) {
    if (typeof n !== "string" || n.length === 0) throw new TypeError(method + "() needs a variable name (a non-empty string)");
    return n;
  }

  // The variable methods `execution` and `task` share.
  function variableApi(obj, object) {
    obj.getVariable = function (n) { n = name(n, object + ".getVariable"); return own(visible, n) ? toJs(visible[n]) : null; };
    obj.getVariableLocal = function (n) { n = name(n, object + ".getVariableLocal"); return own(local, n) ? toJs(local[n]) : null; };
    obj.hasVariable = function (n) { return own(visible, name(n, object + ".hasVariable")); };
    obj.hasVariableLocal = function (n) { return own(local, name(n, object + ".hasVariableLocal")); };
    obj.hasVariables = function () { return Object.keys(visible).length > 0; };
    obj.getVariables = function () { var o = {}; for (var k in visible) o[k] = toJs(visible[k]); return o; };
    obj.getVariablesLocal = function () { var o = {}; for (var k in local) o[k] = toJs(local[k]); return o; };
    obj.getVariableNames = function () { return Object.keys(visible); };
    obj.getVariableNamesLocal = function () { return Object.keys(local); };
    obj.setVariable = function (n, v) {
      n = name(n, object + ".setVariable");
      var t = fromJs(v, object + ".setVariable('" + n + "')");
      visible[n] = t;
      if (own(local, n)) local[n] = t;
      changes.push({ kind: "set", name: n, value: t, local: false });
    };
    obj.setVariableLocal = function (n, v) {
      n = name(n, object + ".setVariableLocal");
      var t = fromJs(v, object + ".setVariableLocal('" + n + "')");
      visible[n] = t;
      local[n] = t;
      changes.push({ kind: "set", name: n, value: t, local: true });
    };
    obj.setVariables = function (m) { for (var k in m) obj.setVariable(k, m[k]); };
    obj.setVariablesLocal = function (m) { for (var k in m) obj.setVariableLocal(k, m[k]); };
    obj.removeVariable = function (n) {
      n = name(n, object + ".removeVariable");
      delete visible[n];
      delete local[n];
      changes.push({ kind: "remove", name: n, local: false });
    };
    obj.removeVariableLocal = function (n) {
      n = name(n, object + ".removeVariableLocal");
      delete local[n];
      delete visible[n];
      changes.push({ kind: "remove", name: n, local: true });
    };
  }

  var execution = {
    id: ctx.executionId,
    processInstanceId: ctx.processInstanceId,
    processBusinessKey: ctx.businessKey,
    businessKey: ctx.businessKey,
    activityId: ctx.activityId,
    currentActivityId: ctx.activityId,
    activityInstanceId: ctx.activityInstanceId,
    processDefinitionId: ctx.processDefinitionId,
    eventName: ctx.eventName,
    tenantId: null
  };
  variableApi(execution, "execution");
  execution.getId = function () { return ctx.executionId; };
  execution.getProcessInstanceId = function () { return ctx.processInstanceId; };
  execution.getBusinessKey = function () { return ctx.businessKey; };
  execution.getProcessBusinessKey = function () { return ctx.businessKey; };
  execution.getActivityId = function () { return ctx.activityId; };
  execution.getCurrentActivityId = function () { return ctx.activityId; };
  execution.getActivityInstanceId = function () { return ctx.activityInstanceId; };
  execution.getProcessDefinitionId = function () { return ctx.processDefinitionId; };
  execution.getEventName = function () { return ctx.eventName; };
  execution.getTenantId = function () { return null; };
  globalThis.execution = execution;

  if (ctx.task !== null) {
    var data = JSON.parse(ctx.task);
    var task = {};
    variableApi(task, "task");
    var props = ["id", "name", "description", "assignee", "owner", "priority", "dueDate",
      "followUpDate", "taskDefinitionKey", "executionId", "processInstanceId",
      "processDefinitionId", "formKey", "eventName", "tenantId", "createTime"];
    props.forEach(function (p) {
      var getter = "get" + p.charAt(0).toUpperCase() + p.slice(1);
      task[getter] = function () {
        var v = own(data, p) ? data[p] : null;
        return (p === "dueDate" || p === "followUpDate" || p === "createTime") && typeof v === "number" ? new Date(v) : v;
      };
    });
    ["assignee", "owner", "name", "description", "priority", "dueDate", "followUpDate"].forEach(function (p) {
      var setter = "set" + p.charAt(0).toUpperCase() + p.slice(1);
      task[setter] = function (v) {
        var t = fromJs(v, "task." + setter);
        data[p] = t.type === "Date" ? t.value : toJs(t);
        changes.push({ kind: "task", property: p, value: t });
      };
    });
    globalThis.task = task;
  }

  // Camunda binds the variables into the script's scope: `amount > 100` reads the variable.
  // Names that are not identifiers, or that would hide a global (`execution`, `Math`), are
  // only reachable through execution.getVariable.
  for (var k in visible) {
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) && !(k in globalThis)) globalThis[k] = toJs(visible[k]);
  }

  globalThis.__baton_finish = function (value) {
    var t;
    if (typeof value === "function" || typeof value === "symbol") t = { type: "Null", value: null };
    else t = fromJs(value, "the script's value");
    return JSON.stringify({ value: t, changes: changes });
  };
})();
