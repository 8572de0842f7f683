// npm run cluster:down — stops every process of the test control plane and removes .van-test/.
// With --if-owner PID (used by the reaper of a test run) it only stops a control plane that test
// run started, and only once no test run uses it any more (exit code 3 when one still does).
import { stopControlPlane, stopIfUnused } from './controlplane';

const i = process.argv.indexOf('--if-owner');
const t0 = Date.now();
if (i >= 0) {
  stopIfUnused(Number(process.argv[i + 1])).then(
    (r) => {
      if (r === 'stopped')
        process.stderr.write(`cluster:down: stopped the test run's control plane in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.exit(r === 'in-use' ? 3 : 0);
    },
    (e) => {
      process.stderr.write(`cluster:down failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  stopControlPlane()
    .then(() => {
      process.stderr.write(`cluster:down: stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      process.exit(0);
    })
    .catch((e) => {
      process.stderr.write(`cluster:down failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
}
