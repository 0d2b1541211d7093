// @ts-check
// The package's entry points (node.mjs, web.mjs) hand out the wasm-bindgen glue through
// `guard`: a panic inside the module (a bug in qjob) ends in a WebAssembly trap, a
// `RuntimeError: unreachable` that cannot carry text; the module's panic hook kept the
// message, and every guarded call turns the trap into an `Error` named `QjobPanic` that
// carries it (the trap is its `cause`). The object that panicked stays unusable (it
// throws "recursive use of an object detected…" from then on); other objects go on.
// The guard also checks the arguments the module takes as plain strings (arguments.mjs)
// before the call: a TypeError naming the argument, as the module's own checks give.
import { STRING_PARAMETERS, STRING_FUNCTION_PARAMETERS } from './arguments.mjs';

/** @param {unknown} e @param {() => string | undefined} take */
function translate(e, take) {
  if (!(e instanceof WebAssembly.RuntimeError)) return e;
  const message = take();
  if (message === undefined) return e;
  const err = new Error(message, { cause: e });
  err.name = 'QjobPanic';
  return err;
}

/**
 * The glue's exports with every function, method and constructor guarded. Classes keep
 * their identity: their prototype methods are guarded in place (once), and the class
 * handed out is a subclass whose constructor is guarded too.
 * @template {Record<string, unknown>} M
 * @param {M & { takePanicMessage: () => string | undefined }} glue
 * @returns {M}
 */
export function guard(glue) {
  const take = glue.takePanicMessage;
  /** @param {Function} f @param {string[]} [strings] the names of its leading string parameters */
  const wrap = (f, strings = []) => {
    const [first, second] = strings;
    if (strings.length > 2) throw new Error('guard: at most two string parameters');
    // One function per shape, so that the common calls stay monomorphic.
    if (second !== undefined) {
      return /** @this {unknown} @param {unknown[]} args */ function guarded(...args) {
        if (typeof args[0] !== 'string') throw notString(first);
        if (typeof args[1] !== 'string') throw notString(second);
        try {
          return f.apply(this, args);
        } catch (e) {
          throw translate(e, take);
        }
      };
    }
    if (first !== undefined) {
      return /** @this {unknown} @param {unknown[]} args */ function guarded(...args) {
        if (typeof args[0] !== 'string') throw notString(first);
        try {
          return f.apply(this, args);
        } catch (e) {
          throw translate(e, take);
        }
      };
    }
    return /** @this {unknown} @param {unknown[]} args */ function guarded(...args) {
      try {
        return f.apply(this, args);
      } catch (e) {
        throw translate(e, take);
      }
    };
  };
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [name, value] of Object.entries(glue)) {
    if (typeof value !== 'function' || name === 'takePanicMessage') {
      out[name] = value;
    } else if (/^class\b/.test(Function.prototype.toString.call(value))) {
      const proto = value.prototype;
      if (!Object.hasOwn(proto, GUARDED)) {
        for (const key of Object.getOwnPropertyNames(proto)) {
          const d = Object.getOwnPropertyDescriptor(proto, key);
          if (key !== 'constructor' && typeof d?.value === 'function') {
            Object.defineProperty(proto, key, { ...d, value: wrap(d.value, STRING_PARAMETERS[name]?.[key]) });
          }
        }
        Object.defineProperty(proto, GUARDED, { value: true });
      }
      const Base = /** @type {new (...args: unknown[]) => object} */ (value);
      out[name] = {
        [name]: class extends Base {
          /** @param {unknown[]} args */
          constructor(...args) {
            try {
              super(...args);
            } catch (e) {
              throw translate(e, take);
            }
          }
        },
      }[name];
    } else {
      out[name] = wrap(value, STRING_FUNCTION_PARAMETERS[name]);
    }
  }
  return /** @type {M} */ (out);
}

const GUARDED = Symbol('qjob guarded');

/** @param {string} what */
function notString(what) {
  return new TypeError(`${what} must be a string`);
}
