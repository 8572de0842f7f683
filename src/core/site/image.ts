// Container image references, as the router image setting and `van init --router-image` take them:
// `[registry[:port]/]path[:tag][@sha256:<64 hex>]` (the grammar of the distribution reference). A
// digest pins the exact image: the router pod then runs those bytes whatever the tag points to later.

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})';

/** The whole reference; also the `pattern` of the skupper.routerImage setting in package.json. */
export const IMAGE_REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export interface ImageReference {
  name: string;
  tag?: string;
  digest?: string;
}

/** The parts of `ref`, or undefined when it is not an image reference. */
export function parseImageReference(ref: string): ImageReference | undefined {
  if (ref.length > 512) return undefined;
  const m = IMAGE_REFERENCE.exec(ref);
  if (!m || m[1].length > 255) return undefined;
  return { name: m[1], ...(m[2] ? { tag: m[2] } : {}), ...(m[3] ? { digest: m[3] } : {}) };
}

/** Why `ref` cannot be a router image, in words; undefined when it can. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (ref.trim() !== ref || ref === '') return `"${ref.trim().slice(0, 80)}" is not an image reference (no spaces around it, not empty)`;
  if (parseImageReference(ref)) return undefined;
  const at = ref.indexOf('@');
  if (at >= 0 && !new RegExp(`^${DIGEST}$`).test(ref.slice(at + 1))) {
    return `"${ref.slice(0, 200)}": a digest is sha256: followed by 64 lower-case hex digits (e.g. node:20-alpine@sha256:<digest>)`;
  }
  return `"${ref.slice(0, 200)}" is not an image reference: [registry/]name[:tag][@sha256:<digest>], name in lower case`;
}
