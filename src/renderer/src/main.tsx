import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './App.tsx';
import { findRecovery, RECOVERY_PREFIX, startAutosave } from './autosave.ts';
import { connectEngine } from './engine-client.ts';
import { StudioProvider } from './studio-context.tsx';
import { createStudioStore, isDirty } from './store.ts';

const engine = connectEngine();
const store = createStudioStore(engine);
const refresh = () => void store.getState().loadCatalogue().then(() => store.getState().loadGraphList());
store.getState().setConnection(engine.state());
engine.onState((state, reason) => {
  store.getState().setConnection(state, reason);
  // (Re)connected: a restarted server may have other node types and graphs.
  if (state === 'open') refresh();
});
engine.onEvent((event) => store.getState().applyEvent(event));
if (engine.state() === 'open') refresh();
store.getState().newGraph();

// Unsaved work left by a crashed or closed tab is offered back; this tab keeps its own copy.
const tabKey = `${RECOVERY_PREFIX}${crypto.randomUUID()}`;
try {
  const left = findRecovery(window.localStorage, tabKey);
  if (left) store.getState().setRecovery(left);
  startAutosave(store, window.localStorage, tabKey);
  // Restored or turned down: the copy it came from is done with.
  store.subscribe((s, prev) => {
    if (prev.recovery && !s.recovery) window.localStorage.removeItem(prev.recovery.key);
  });
} catch {
  // no localStorage (privacy settings): no recovery
}

// Closing the tab with unsaved work asks first.
window.addEventListener('beforeunload', (e) => {
  if (!isDirty(store.getState())) return;
  e.preventDefault();
  e.returnValue = '';
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <StudioProvider store={store}>
      <App />
    </StudioProvider>
  </StrictMode>,
);
