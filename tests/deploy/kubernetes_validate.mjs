// Offline validation of rendered Kubernetes objects (`kubectl kustomize DIR` output) against
// the API schemas in npm's kubernetes-models, plus a check for unknown fields.
//
// usage: K8S_MODELS=DIR/node_modules node kubernetes_validate.mjs [FILE...]   (stdin without FILE)
// Prints one `ok`/`FAIL` line per object and `N passed, N failed`; exits 1 when any failed.
//
// kubernetes-models' validators are ajv code compiled from the OpenAPI schemas, and those
// schemas allow properties they do not declare, so a misspelt field (`replicass`,
// `readinesProbe`) passes them and the API server would drop it without a word. The unknown
// field check: the object is validated through proxies that record every property the
// validator reads. A compiled validator reads each property its schema declares (`void
// 0!==data.replicas`) and every entry of a map (labels, data, resources); what it never read
// at some path is a field the schema does not know.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const nm = process.env.K8S_MODELS || 'node_modules';
const imp = p => import(pathToFileURL(join(nm, p)).href);
const YAML = await imp('yaml/dist/index.js');

// A proxy of `value` (and, lazily, of everything below it) that adds `path + "/" + key` to
// `read` for each property read.
function tracked(value, path, read) {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return v;
      read.add(path + '/' + key);
      return tracked(v, path + '/' + key, read);
    },
  });
}

// The paths of `value`'s object properties (not array indexes) that are not in `read`.
function unread(value, path, read, out = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => unread(v, `${path}/${i}`, read, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!read.has(`${path}/${k}`)) out.push(`${path}/${k}`);
      else unread(v, `${path}/${k}`, read, out);
    }
  }
  return out;
}

async function modelClass(o) {
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') throw new Error('no apiVersion or kind');
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const file = join('kubernetes-models', group, version, `${o.kind}.js`);
  if (!/^[A-Za-z0-9.]*$/.test(group + version + o.kind) || !existsSync(join(nm, file)))
    throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  return (await imp(file))[o.kind];
}

const input = process.argv.length > 2
  ? process.argv.slice(2).map(f => readFileSync(f, 'utf8')).join('\n---\n')
  : readFileSync(0, 'utf8');
const docs = [];
for (const d of YAML.parseAllDocuments(input)) {
  if (d.errors.length) { console.log(`FAIL YAML: ${d.errors[0].message}`); process.exit(1); }
  const o = d.toJS();
  if (o !== null && o !== undefined) docs.push(o);
}
let bad = 0;
for (const o of docs) {
  const name = `${o.apiVersion} ${o.kind}/${o.metadata?.name}`;
  const problems = [];
  try {
    const Cls = await modelClass(o);
    const read = new Set();
    try {
      Cls.prototype.validate.call(tracked(o, '', read));
    } catch (e) {
      problems.push(`schema: ${String(e.message).split('\n')[0]}`);
    }
    for (const p of unread(o, '', read)) problems.push(`unknown field ${p}`);
  } catch (e) {
    problems.push(String(e.message));
  }
  if (problems.length) {
    bad++;
    console.log(`FAIL ${name}: ${problems.join('; ')}`);
  } else {
    console.log(`ok   ${name}`);
  }
}
console.log(`${docs.length - bad} passed, ${bad} failed`);
process.exit(bad || docs.length === 0 ? 1 : 0);
