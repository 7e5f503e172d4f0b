// A Vite app that installed @quotekit/pricing from npm: the bundler resolves
// the package and emits its .wasm as an asset that init() fetches.
import init, * as pricing from '@quotekit/pricing';
import { show } from './example.js';

const out = document.getElementById('out');
init()
  .then(() => show(pricing, out))
  .catch((e) => {
    out.textContent = `${e.code ?? ''} ${e.message}`;
    document.body.dataset.status = 'failed';
  });
