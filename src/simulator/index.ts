/** The Atlas simulator's public API: start one, and read or validate scenarios. */
export { startSimulator, type Simulator, type SimulatorOptions } from "./simulator.js";
export {
  parseScenario,
  type Scenario,
  type ScenarioInput,
  type ScenarioJob,
  type ScenarioCluster,
  type ScenarioProject,
} from "./scenario.js";
export { loadScenarioFile } from "./scenario-file.js";
export { ScenarioError } from "./scenario-error.js";
export { FAULT_KINDS, type Fault, type FaultKind } from "./fault.js";
export type { SimulatorStats } from "./stats.js";
export type { ClockMode } from "./sim-clock.js";
export { datedForRun } from "./dated-ids.js";
