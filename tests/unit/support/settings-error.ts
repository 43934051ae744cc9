import { SettingsError } from "../../../components/settings";

/** The SettingsError `run` throws; fails the test when it throws nothing or something else. */
export function errorOf(run: () => unknown): SettingsError {
  try {
    run();
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error("expected a SettingsError");
}
