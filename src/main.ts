#!/usr/bin/env node
// Entry point. Node's compile cache goes on before the operator's modules load, so a restart
// (a new pod's first start excepted) skips compiling them again: @kubernetes/client-node alone
// takes a quarter of a second to compile. The cache lives in $NODE_COMPILE_CACHE or the temporary
// directory; where neither is writable, the operator runs without it.
import { enableCompileCache } from 'node:module';

enableCompileCache();
try {
  const { main } = await import('./operator.ts');
  process.exit(await main(process.argv.slice(2), process.env));
} catch (err) {
  process.stderr.write(`aimodel-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
