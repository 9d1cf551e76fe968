import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';
import './styles.css';
import { App } from './App.tsx';
import { connectEngine } from './engine-client.ts';
import { StudioProvider } from './studio-context.tsx';
import { createStudioStore } from './store.ts';

const engine = connectEngine();
const store = createStudioStore(engine);
store.getState().setConnection(engine.state());
engine.onState((state, reason) => store.getState().setConnection(state, reason));
engine.onEvent((event) => store.getState().applyEvent(event));
void store.getState().loadCatalogue().then(() => store.getState().loadGraphList());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <StudioProvider store={store}>
      <App />
    </StudioProvider>
  </StrictMode>,
);
