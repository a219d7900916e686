// Builders shared by the desired-state tests: a valid, defaulted AIModel from a spec fragment.
import { type AIModel, type AIModelSpecInput, API_VERSION, KIND, parseAIModel } from '../api/v1/aimodel.ts';

export const TEST_UID = '0f4a3c2e-8d1b-4c55-9a7e-3b2d1c0e9f8a';

export function aimodel(spec: Partial<AIModelSpecInput> = {}, name = 'gpt-4o-agent', namespace = 'models'): AIModel {
  const result = parseAIModel({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace, uid: TEST_UID, generation: 1 },
    spec: { model: 'gpt-4o-agent', ...spec },
  });
  if (!result.ok) throw new Error(`test model is invalid: ${JSON.stringify(result.problems)}`);
  return result.model;
}
