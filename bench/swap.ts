/**
 * `npm run bench -- swap`: an app update under a request loop, three ways, same images, same run:
 * ours v1 → v2, ours with a v2 that never gets healthy, and the seeds' `docker-compose down && up`.
 * Ends with `swap: requests=<n> ours_failed=<n> ours_unhealthy_failed=<n> seed_failed=<n> seed_outage_s=<x>`.
 */
import { withHost } from "./host";
import type { LoadResult } from "../test/support/loadLoop";
import { buildSwapImages, seedBaseline, SWAP_PORT, SwapRig, underLoad, waitHealthy } from "../test/support/swap";

const line = (what: string, r: LoadResult) =>
  `${what}: ${r.requests} requests in ${r.seconds.toFixed(2)}s, ${r.failed} failed, outage ${r.outageSeconds.toFixed(2)}s, answers ${JSON.stringify(r.bodies)}`;

export async function benchSwap(minRequests: number): Promise<string> {
  return withHost(async () => {
    const images = buildSwapImages();
    const rig = new SwapRig(images);
    rig.cleanup();
    try {
      await rig.startProxy();
      let current = await rig.createApp(images.v1);
      await waitHealthy(current, 30);
      await rig.switchTo(current);
      const url = `http://127.0.0.1:${SWAP_PORT}/api/health`;

      const unhealthy = await underLoad(url, minRequests, async () => {
        await rig.upgrade(current, images.bad, 15);
      });
      console.log(line("ours, v2 never healthy", unhealthy.load), `(update failed: ${unhealthy.error?.message})`);
      rig.cleanup();
      await rig.startProxy();
      current = await rig.createApp(images.v1);
      await waitHealthy(current, 30);
      await rig.switchTo(current);

      rig.steps.length = 0;
      const ours = await underLoad(url, minRequests, async () => {
        current = await rig.upgrade(current, images.v2, 30);
      });
      if (ours.error) throw ours.error;
      console.log(line("ours, v1 → v2", ours.load));
      for (const s of rig.steps) console.log(`  ${s}`);

      const seed = await seedBaseline(images, minRequests);
      console.log(line("seeds, compose down && up", seed));
      const requests = Math.min(ours.load.requests, unhealthy.load.requests, seed.requests);
      return `swap: requests=${requests} ours_failed=${ours.load.failed} ours_unhealthy_failed=${unhealthy.load.failed} seed_failed=${seed.failed} seed_outage_s=${seed.outageSeconds.toFixed(2)}`;
    } finally {
      rig.cleanup();
    }
  });
}
