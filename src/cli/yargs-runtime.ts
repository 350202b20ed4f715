/**
 * yargs and its argv helper, the CLI's only runtime imports of the package, in one module so the
 * build can replace its compiled form with a bundle of yargs (scripts/bundle.mjs): yargs' ESM
 * build is 45 files, whose loading took ~100 ms of every `nodepulse` call (`--help` included).
 */
export { default as yargs } from 'yargs';
export { hideBin } from 'yargs/helpers';
