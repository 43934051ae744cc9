/** Type token -> stand-in provider. Anything else is rejected as unsupported. */
import { commandProvider } from "./command";
import { containerProvider } from "./container";
import { networkProvider, remoteImageProvider, volumeProvider } from "./docker";
import { randomProvider } from "./random";
import { Provider } from "./types";

const PROVIDERS: Record<string, Provider> = {
  "docker:index/network:Network": networkProvider,
  "docker:index/volume:Volume": volumeProvider,
  "docker:index/remoteImage:RemoteImage": remoteImageProvider,
  "docker:index/container:Container": containerProvider,
  "command:local:Command": commandProvider,
  "random:index/randomPassword:RandomPassword": randomProvider("password"),
  "random:index/randomString:RandomString": randomProvider("string"),
};

export function providerFor(type: string): Provider {
  const p = PROVIDERS[type];
  if (!p)
    throw new Error(
      `unsupported resource type ${type} (the live harness implements: ${Object.keys(PROVIDERS).join(", ")})`,
    );
  return p;
}

export function hasProvider(type: string): boolean {
  return type in PROVIDERS;
}
