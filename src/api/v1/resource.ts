// The REST mapping of AIModel, registered so the client can apply AIModel objects by kind.
import { registerResource } from '../../kube/resources.ts';
import { GROUP, KIND, PLURAL, VERSION } from './aimodel.ts';

export const AIModels = registerResource({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, plural: PLURAL, namespaced: true });
