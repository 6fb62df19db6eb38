import { runAgent } from '@fleet/runtime';
import agent from './index.ts';

await runAgent(agent);
