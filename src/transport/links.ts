import type { DataplaneLink } from '../dataplane/link.js';
import { GreLink } from './gre-link.js';
import { KernelLink } from './kernel-link.js';
import type { LinkSpec } from './link-spec.js';
import { VxlanLink } from './vxlan-link.js';

/** Build the engine's link object for a spec. */
export function createLink(spec: LinkSpec): DataplaneLink {
  switch (spec.kind) {
    case 'vxlan':
      return new VxlanLink(spec);
    case 'gre':
      return new GreLink(spec);
    case 'kernel':
      return new KernelLink(spec);
  }
}
