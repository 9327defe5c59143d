// A tiny shop with state worth inspecting from daebug: `store`, `store.cart`, `store.total()`.
import { countPrimes } from './compute.js';

const products = [
  { id: 'tea', name: 'Green tea', price: 4.5 },
  { id: 'mug', name: 'Mug', price: 9.9 },
  { id: 'pot', name: 'Tea pot', price: 24 },
];

const store = {
  products,
  cart: { items: [] },
  add(id) {
    const product = products.find((entry) => entry.id === id);
    if (!product) throw new Error(`no product ${id}`);
    this.cart.items.push(product);
    console.log('added to cart:', product.name);
    render();
  },
  total() {
    return Math.round(this.cart.items.reduce((sum, item) => sum + item.price, 0) * 100) / 100;
  },
};
window.store = store;
// Something slow enough to be worth moving to a worker: try `countPrimes(2_000_000)` in both realms.
window.countPrimes = countPrimes;

function render() {
  document.querySelector('#count').textContent = String(store.cart.items.length);
  document.querySelector('#total').textContent = store.total().toFixed(2);
}

const list = document.querySelector('#products');
for (const product of products) {
  const item = document.createElement('li');
  const button = document.createElement('button');
  button.textContent = `Add ${product.name} (${product.price.toFixed(2)} €)`;
  button.addEventListener('click', () => store.add(product.id));
  item.append(button);
  list.append(item);
}

document.querySelector('#checkout').addEventListener('click', () => {
  if (store.cart.items.length === 0) console.warn('checkout with an empty cart');
  else console.info('checking out', { items: store.cart.items.length, total: store.total() });
});

render();
