import { createApp } from 'vue';
import App from './App.vue';
import '../../shared/styles.css';

createApp(App).mount('#app');
